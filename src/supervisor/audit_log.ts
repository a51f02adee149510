import { appendFileSync, mkdirSync } from "node:fs";
import { dirname } from "node:path";
import type { Clock, Logger } from "../deps.ts";
import { systemClock } from "../deps.ts";

/** One line of the audit log. */
export type AuditEvent =
  | {
    type: "plugin_started";
    plugin: string;
    /** The module as configured. */
    module: string;
    /** The digest of what runs: under an allow-list, of the verified copy the instance was started on. */
    digest: string;
    /** The verified copy (under an allow-list). */
    codeDir?: string;
    runtime: string;
    pid: number | undefined;
    sandbox: readonly string[] | "none";
  }
  | { type: "plugin_refused"; plugin: string; module: string; digest: string | undefined; reason: string }
  | { type: "allow_list_reloaded"; plugins: number; source: string }
  | { type: "allow_list_reload_failed"; reason: string };

/**
 * Appends audit events as JSON lines (`{"time":…,"type":…,…}`), synchronously, so a line is on
 * disk before the instance it reports starts. Without a path, events go only to the logger.
 */
export class AuditLog {
  readonly #path: string | undefined;
  readonly #clock: Clock;
  readonly #logger: Logger | undefined;

  constructor(path: string | undefined, options: { clock?: Clock; logger?: Logger } = {}) {
    this.#path = path;
    this.#clock = options.clock ?? systemClock;
    this.#logger = options.logger;
    if (path !== undefined) mkdirSync(dirname(path), { recursive: true });
  }

  /** The file written to, if any. */
  get path(): string | undefined {
    return this.#path;
  }

  write(event: AuditEvent): void {
    const line = { time: new Date(this.#clock.now()).toISOString(), ...event };
    if (event.type === "plugin_refused" || event.type === "allow_list_reload_failed") this.#logger?.warn(`audit: ${event.type}`, line);
    else this.#logger?.info(`audit: ${event.type}`, line);
    if (this.#path !== undefined) appendFileSync(this.#path, `${JSON.stringify(line)}\n`);
  }
}
