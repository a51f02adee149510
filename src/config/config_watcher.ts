import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import type { Logger } from "../deps.ts";
import { ConfigError, parseConfigText, resolveConfig } from "./load_config.ts";
import type { ResolvedConfig } from "./schema.ts";
import { diffConfig } from "../diff.ts";
import { watchPath } from "../runtime/mod.ts";
import type { PathWatch } from "../runtime/mod.ts";

/** What one part of a process does with a new config. */
export interface ConfigConsumer {
  /** Shown in the audit line: `router`, `supervisor`. */
  readonly name: string;
  /**
   * Applies what it can of `next`, given the dotted paths that `changed` since the last good file.
   * @returns the changed paths it applied, and those it uses but cannot change without a restart.
   */
  apply(next: ResolvedConfig, changed: readonly string[]): ConsumerResult | Promise<ConsumerResult>;
}

/** What a {@linkcode ConfigConsumer} did with a reload. */
export interface ConsumerResult {
  applied: readonly string[];
  needsRestart?: readonly string[];
  /** Changed paths it tried and could not apply (refused options, a replacement that did not come up). */
  rejected?: readonly string[];
}

/** The outcome of one {@linkcode ConfigWatcher.reload}. */
export type ReloadOutcome =
  | { status: "unchanged"; sha256: string }
  | { status: "applied"; sha256: string; previousSha256: string; changed: string[]; applied: string[]; needsRestart: string[]; notApplied: string[] }
  | { status: "rejected"; sha256: string; problems: string[] }
  | { status: "unreadable"; error: string };

/** Options of {@linkcode ConfigWatcher}. */
export interface ConfigWatcherOptions {
  /** The JSON or YAML file. */
  path: string;
  /** For the env overrides (`NATS_URL`, `PORT`), applied as at start-up. */
  env: Readonly<Record<string, string | undefined>>;
  /** The config the process started with (from this file, before command-line overrides). */
  initial: ResolvedConfig;
  consumers: readonly ConfigConsumer[];
  logger: Logger;
  /**
   * Applied to every config read from the file before it is diffed, the way the process adjusted
   * the first one (e.g. `dev` turns `admin.enabled` on), so reloads keep those adjustments.
   */
  adjust?: (config: ResolvedConfig) => void;
  /** Watch the file; without it only {@linkcode ConfigWatcher.reload} reloads. @default true */
  watch?: boolean;
  /** @default 100 */
  debounceMs?: number;
}

/**
 * Hot reload of the config file. On each change: read, validate, diff against the last good
 * file, hand the result to every consumer, and write one audit line (`config reloaded` with what
 * changed, what was applied, what needs a restart, and the file's SHA-256). An invalid file keeps
 * the running config and logs each problem by dotted path (`config rejected`).
 */
export class ConfigWatcher {
  readonly #options: ConfigWatcherOptions;
  readonly #consumers: ConfigConsumer[];
  #current: ResolvedConfig;
  #sha256: string;
  #watch: PathWatch | undefined;
  /** Reloads run one at a time; a change during one queues one more. */
  #running: Promise<ReloadOutcome> | undefined;
  #again = false;

  constructor(options: ConfigWatcherOptions) {
    this.#options = options;
    this.#consumers = [...options.consumers];
    this.#current = options.initial;
    this.#sha256 = hashFile(options.path) ?? "";
    if (options.watch ?? true) {
      this.#watch = watchPath(options.path, () => void this.reload(), { debounceMs: options.debounceMs ?? 100 });
    }
  }

  /** SHA-256 (hex) of the file as last loaded. */
  get sha256(): string {
    return this.#sha256;
  }

  /** The last good config read from the file. */
  get current(): ResolvedConfig {
    return this.#current;
  }

  /** Adds a consumer of later reloads (a part started after the watcher). */
  add(consumer: ConfigConsumer): void {
    this.#consumers.push(consumer);
  }

  /** The watched file. */
  get path(): string {
    return this.#options.path;
  }

  /** Reads the file now and applies it if it changed and is valid. */
  reload(): Promise<ReloadOutcome> {
    if (this.#running !== undefined) {
      this.#again = true;
      return this.#running;
    }
    const run = this.#reload().finally(() => {
      this.#running = undefined;
      if (this.#again) {
        this.#again = false;
        void this.reload();
      }
    });
    this.#running = run;
    return run;
  }

  close(): void {
    this.#watch?.close();
    this.#watch = undefined;
  }

  async #reload(): Promise<ReloadOutcome> {
    const { path, env, logger } = this.#options;
    let text: string;
    try {
      text = readFileSync(path, "utf8");
    } catch (err) {
      // Mid-save (renamed away for a moment) or deleted: keep running, the next event retries.
      const error = (err as Error).message;
      logger.warn("config file unreadable: keeping the running config", { file: path, error });
      return { status: "unreadable", error };
    }
    const sha256 = hash(text);
    if (sha256 === this.#sha256) return { status: "unchanged", sha256 };
    let next: ResolvedConfig;
    try {
      next = resolveConfig(parseConfigText(text, path), env, path);
      this.#options.adjust?.(next);
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      logger.error("config rejected: keeping the running config", { file: path, sha256, problems: err.problems });
      // Not remembered as loaded: fixing the file back to the running version reloads nothing.
      return { status: "rejected", sha256, problems: [...err.problems] };
    }
    const changed = diffConfig(this.#current, next);
    const previousSha256 = this.#sha256;
    this.#current = next;
    this.#sha256 = sha256;
    const applied = new Set<string>();
    const needsRestart = new Set<string>();
    const rejected = new Set<string>();
    for (const consumer of this.#consumers) {
      try {
        const result = await consumer.apply(next, changed);
        for (const p of result.applied) applied.add(p);
        for (const p of result.needsRestart ?? []) needsRestart.add(p);
        for (const p of result.rejected ?? []) rejected.add(p);
      } catch (err) {
        logger.error("config consumer failed", { consumer: consumer.name, error: err instanceof Error ? err.message : String(err) });
      }
    }
    const outcome = {
      status: "applied" as const,
      sha256,
      previousSha256,
      changed,
      applied: [...applied].sort(),
      needsRestart: [...needsRestart].filter((p) => !applied.has(p)).sort(),
      notApplied: [...rejected].filter((p) => !applied.has(p)).sort(),
    };
    // A change that waits for a restart is a warning: the file says one thing, the process does another.
    logger[outcome.needsRestart.length > 0 ? "warn" : "info"]("config reloaded", {
      file: path,
      sha256,
      previousSha256,
      changed,
      applied: outcome.applied,
      ...(outcome.needsRestart.length > 0 ? { needsRestart: outcome.needsRestart } : {}),
      ...(outcome.notApplied.length > 0 ? { notApplied: outcome.notApplied } : {}),
    });
    return outcome;
  }
}

function hash(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}

function hashFile(path: string): string | undefined {
  try {
    return hash(readFileSync(path, "utf8"));
  } catch {
    return undefined;
  }
}
