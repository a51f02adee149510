import { readFileSync } from "node:fs";
import { basename, dirname, resolve } from "node:path";
import * as v from "valibot";
import { AllowListEntriesSchema } from "./allow_list_schema.ts";
import type { ResolvedAllowListOptions } from "./allow_list_schema.ts";
import type { AuditLog } from "./audit_log.ts";
import { hashPluginCode } from "./code_hash.ts";

/** A plugin the allow-list refused to start. */
export class PluginRefusedError extends Error {
  override name = "PluginRefusedError";
  readonly plugin: string;
  readonly digest: string | undefined;
  constructor(plugin: string, digest: string | undefined, reason: string) {
    super(`Plugin "${plugin}" was not started: ${reason}`);
    this.plugin = plugin;
    this.digest = digest;
  }
}

/** Which code each plugin may run: plugin name → allowed `sha256:` digests. */
export class AllowList {
  #options: ResolvedAllowListOptions;
  #entries: ReadonlyMap<string, readonly string[]>;

  /** @throws {Error} when `options.file` cannot be read or is not a valid allow-list. */
  constructor(options: ResolvedAllowListOptions) {
    this.#options = options;
    this.#entries = load(options);
  }

  /** Plugins listed. */
  get size(): number {
    return this.#entries.size;
  }

  /**
   * Reads the entries again (from `options`, or the same options and file as before). On any
   * problem the current entries stay in force and the error is thrown.
   * @returns the number of plugins listed.
   */
  reload(options: ResolvedAllowListOptions = this.#options): number {
    const entries = load(options);
    this.#options = options;
    this.#entries = entries;
    return entries.size;
  }

  /** `undefined` when `digest` may run as `plugin`, else why not. */
  refusal(plugin: string, digest: string): string | undefined {
    const allowed = this.#entries.get(plugin);
    if (allowed === undefined) return `"${plugin}" is not on the allow-list`;
    if (!allowed.includes(digest)) return `its code hash ${digest} is not on the allow-list for "${plugin}" (allowed: ${allowed.join(", ")})`;
    return undefined;
  }
}

function load(options: ResolvedAllowListOptions): Map<string, readonly string[]> {
  const entries = new Map<string, string[]>();
  const add = (from: v.InferOutput<typeof AllowListEntriesSchema>) => {
    for (const [name, hashes] of Object.entries(from)) {
      entries.set(name, [...(entries.get(name) ?? []), ...(typeof hashes === "string" ? [hashes] : hashes)]);
    }
  };
  add(options.plugins);
  if (options.file !== undefined) {
    let raw: unknown;
    try {
      raw = JSON.parse(readFileSync(options.file, "utf8"));
    } catch (err) {
      throw new Error(`allow-list ${options.file}: ${(err as Error).message}`, { cause: err });
    }
    const parsed = v.safeParse(AllowListEntriesSchema, raw);
    if (!parsed.success) {
      throw new Error(`allow-list ${options.file}: ${parsed.issues.map((i) => `${v.getDotPath(i) ?? "(root)"}: ${i.message}`).join("; ")}`);
    }
    add(parsed.output);
  }
  return entries;
}

/** The plugin name an entry module is listed under: its folder's name (`plugins/hello/mod.ts` → `hello`). */
export function pluginNameOf(module: string): string {
  return basename(dirname(resolve(module)));
}

/**
 * Hashes the plugin's code and checks it against `allowList`, writing a `plugin_refused` line to
 * `audit` when it may not run.
 * @returns the code's digest.
 * @throws {PluginRefusedError} when the allow-list refuses it (or the code cannot be read).
 */
export function admitPlugin(module: string, allowList: AllowList, audit: AuditLog | undefined, plugin = pluginNameOf(module)): string {
  let digest: string;
  try {
    digest = hashPluginCode(module).digest;
  } catch (err) {
    const reason = `its code cannot be read (${(err as Error).message})`;
    audit?.write({ type: "plugin_refused", plugin, module, digest: undefined, reason });
    throw new PluginRefusedError(plugin, undefined, reason);
  }
  const reason = allowList.refusal(plugin, digest);
  if (reason !== undefined) {
    audit?.write({ type: "plugin_refused", plugin, module, digest, reason });
    throw new PluginRefusedError(plugin, digest, reason);
  }
  return digest;
}
