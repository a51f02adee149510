/**
 * A {@linkcode Logger} that records every line, for assertions on what was logged.
 * @module
 */

import type { LogAttrs, Logger, LogLevel } from "../deps.ts";

/** One recorded log line; `attrs` already merges the attributes of every `child()`. */
export interface LogEntry {
  level: LogLevel;
  msg: string;
  attrs: LogAttrs;
}

/** A logger that records lines; children write into the same `entries`. */
export interface CaptureLogger extends Logger {
  /** Every line logged through this logger or any of its children, oldest first. */
  readonly entries: LogEntry[];
  /** The messages logged, optionally only at `level`. */
  messages(level?: LogLevel): string[];
  /** Forgets all entries (for this logger and its children). */
  clear(): void;
  child(attrs: LogAttrs): CaptureLogger;
}

/**
 * Creates a logger that records `{ level, msg, attrs }` entries.
 * @param attrs attributes added to every line.
 * @example
 * ```ts
 * const logger = captureLogger();
 * logger.child({ plugin: "hello" }).warn("slow", { ms: 12 });
 * // logger.entries → [{ level: "warn", msg: "slow", attrs: { plugin: "hello", ms: 12 } }]
 * ```
 */
export function captureLogger(attrs: LogAttrs = {}): CaptureLogger {
  return makeLogger([], attrs);
}

function makeLogger(entries: LogEntry[], base: LogAttrs): CaptureLogger {
  const log = (level: LogLevel) => (msg: string, attrs?: LogAttrs): void => {
    entries.push({ level, msg, attrs: { ...base, ...attrs } });
  };
  return {
    entries,
    debug: log("debug"),
    info: log("info"),
    warn: log("warn"),
    error: log("error"),
    messages: (level) => entries.filter((e) => level === undefined || e.level === level).map((e) => e.msg),
    clear: () => {
      entries.length = 0;
    },
    child: (attrs) => makeLogger(entries, { ...base, ...attrs }),
  };
}
