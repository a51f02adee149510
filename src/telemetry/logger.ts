import type { LogAttrs, Logger, LogLevel } from "../deps.ts";

const LEVELS: Readonly<Record<LogLevel, number>> = { debug: 10, info: 20, warn: 30, error: 40 };

/** Options of {@linkcode createLogger}. */
export interface LoggerOptions {
  /** Lines below this level are dropped. @default "info" */
  level?: LogLevel;
  /** `json`: one JSON object a line; `pretty`: a readable line for terminals. @default "json" */
  format?: "json" | "pretty";
  /** Where lines go (each ends with a newline). @default standard error */
  write?: (line: string) => void;
  /** Attributes on every line. */
  base?: LogAttrs;
}

/** True for a valid level name. */
export function isLogLevel(value: string): value is LogLevel {
  return Object.hasOwn(LEVELS, value);
}

/** A structured logger writing JSON lines (or a readable form) with a time and a level. */
export function createLogger(options: LoggerOptions = {}): Logger {
  const min = LEVELS[options.level ?? "info"];
  const format = options.format ?? "json";
  const write = options.write ?? defaultWrite;
  const make = (base: LogAttrs): Logger => {
    const log = (level: LogLevel, msg: string, attrs?: LogAttrs): void => {
      if (LEVELS[level] < min) return;
      const all = attrs === undefined ? base : { ...base, ...attrs };
      write(format === "json" ? jsonLine(level, msg, all) : prettyLine(level, msg, all));
    };
    return {
      debug: (msg, attrs) => log("debug", msg, attrs),
      info: (msg, attrs) => log("info", msg, attrs),
      warn: (msg, attrs) => log("warn", msg, attrs),
      error: (msg, attrs) => log("error", msg, attrs),
      child: (attrs) => make({ ...base, ...attrs }),
    };
  };
  return make(options.base ?? {});
}

function jsonLine(level: LogLevel, msg: string, attrs: LogAttrs): string {
  const time = new Date().toISOString();
  const line: LogAttrs = { time, level, msg, ...attrs };
  // An attribute named like a base field cannot replace it (reassigning keeps the key order).
  line.time = time;
  line.level = level;
  line.msg = msg;
  return `${JSON.stringify(line, errorReplacer)}\n`;
}

function prettyLine(level: LogLevel, msg: string, attrs: LogAttrs): string {
  const time = new Date().toISOString().slice(11, 23);
  const rest = Object.entries(attrs).map(([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v, errorReplacer)}`);
  return `${time} ${level.toUpperCase().padEnd(5)} ${msg}${rest.length > 0 ? `  ${rest.join(" ")}` : ""}\n`;
}

function errorReplacer(_key: string, value: unknown): unknown {
  return value instanceof Error ? { name: value.name, message: value.message } : value;
}

function defaultWrite(line: string): void {
  process.stderr.write(line);
}
