/**
 * The injectable dependencies every long-lived part takes: a clock and a logger.
 * Tests pass `FakeClock` and `captureLogger()` from `switchyard/testing`.
 * @module
 */

/** An opaque timer handle, as returned by {@linkcode Clock.setTimeout}. */
export type TimerId = unknown;

/** Time, injectable so policies can be tested without sleeping. */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  setTimeout(fn: () => void, ms: number): TimerId;
  clearTimeout(id: TimerId): void;
  /** Lets the process exit while only this timer is armed (as Node's `timeout.unref()`); optional. */
  unref?(id: TimerId): void;
}

/** Structured attributes of a log line. */
export type LogAttrs = Record<string, unknown>;

export type LogLevel = "debug" | "info" | "warn" | "error";

/** A structured logger; every line carries a message and attributes. */
export interface Logger {
  debug(msg: string, attrs?: LogAttrs): void;
  info(msg: string, attrs?: LogAttrs): void;
  warn(msg: string, attrs?: LogAttrs): void;
  error(msg: string, attrs?: LogAttrs): void;
  /** A logger that adds `attrs` to every line. */
  child(attrs: LogAttrs): Logger;
}

export interface Deps {
  clock: Clock;
  logger: Logger;
}

/** The wall clock. */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (id) => clearTimeout(id as ReturnType<typeof setTimeout>),
  unref: (id) => {
    // Node and Bun hand out timer objects; Deno a number, unreferenced through its namespace.
    if (typeof id === "object" && id !== null && "unref" in id && typeof id.unref === "function") id.unref();
    else if (typeof id === "number") (globalThis as { Deno?: { unrefTimer(id: number): void } }).Deno?.unrefTimer(id);
  },
};

/** A logger that drops everything. */
export const noopLogger: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
  child() {
    return noopLogger;
  },
};

/** Fills in the system clock and the no-op logger where `overrides` leaves them out. */
export function defaultDeps(overrides: Partial<Deps> = {}): Deps {
  return { clock: overrides.clock ?? systemClock, logger: overrides.logger ?? noopLogger };
}
