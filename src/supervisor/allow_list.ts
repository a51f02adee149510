import { readFileSync } from "node:fs";
import { basename, dirname, resolve } from "node:path";
import * as v from "valibot";
import { AllowListEntriesSchema } from "./allow_list_schema.ts";
import type { ResolvedAllowListOptions } from "./allow_list_schema.ts";
import type { AuditLog } from "./audit_log.ts";
import { readPluginCode } from "./code_hash.ts";
import type { PluginCode } from "./code_hash.ts";
import { defaultCodeCache, verifiedCopy } from "./code_copy.ts";
import type { VerifiedCode } from "./code_copy.ts";

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

/** What {@linkcode admitPlugin} checks a plugin against. */
export interface CodeGate {
  allowList: AllowList;
  /** Gets a `plugin_refused` line for each refusal. */
  audit?: AuditLog | undefined;
  /** Where verified copies go. @default {@linkcode defaultCodeCache} */
  codeCache?: string | undefined;
}

/**
 * Reads the plugin's code once, checks its digest against the allow-list, refuses code the hash
 * cannot fully cover (see `PluginCode.problems`), and writes the approved bytes to a read-only,
 * content-addressed copy that is hashed again: the instance is started on that copy, so what runs
 * is what was checked. Each refusal gets a `plugin_refused` line in the audit log.
 * @returns the verified copy.
 * @throws {PluginRefusedError} when the plugin may not run (or its code cannot be read or copied).
 */
export function admitPlugin(module: string, gate: CodeGate, plugin = pluginNameOf(module)): VerifiedCode {
  const refuse = (digest: string | undefined, reason: string): never => {
    gate.audit?.write({ type: "plugin_refused", plugin, module, digest, reason });
    throw new PluginRefusedError(plugin, digest, reason);
  };
  let code: PluginCode;
  try {
    code = readPluginCode(module);
  } catch (err) {
    return refuse(undefined, `its code cannot be read (${(err as Error).message})`);
  }
  const listed = gate.allowList.refusal(plugin, code.digest);
  if (listed !== undefined) return refuse(code.digest, listed);
  if (code.problems.length > 0) return refuse(code.digest, `the code hash cannot cover all it would run: ${code.problems.join("; ")}`);
  try {
    return verifiedCopy(code, gate.codeCache ?? defaultCodeCache());
  } catch (err) {
    return refuse(code.digest, `its verified copy cannot be made: ${(err as Error).message}`);
  }
}
