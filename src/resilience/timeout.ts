import type { Clock } from "../deps.ts";
import { systemClock } from "../deps.ts";
import { ErrorCode, SwitchyardError } from "../errors.ts";
import type { Policy } from "./policy.ts";
import { NEVER } from "./policy.ts";

/** Options of {@linkcode TimeoutPolicy}: a relative `timeoutMs` or an absolute `deadline` (epoch ms). */
export interface TimeoutOptions {
  timeoutMs?: number;
  deadline?: number;
  clock?: Clock;
}

/**
 * Rejects with 504 `timeout` at an absolute deadline and aborts the signal `fn` got, so the work
 * can stop. With `timeoutMs`, the deadline is fixed when `execute` starts; with `deadline`, it is
 * the same for every call (a request's deadline shared by its retries and nested calls).
 */
export class TimeoutPolicy implements Policy {
  readonly #clock: Clock;
  readonly #timeoutMs: number | undefined;
  readonly #deadline: number | undefined;

  constructor(options: TimeoutOptions) {
    if (options.timeoutMs === undefined && options.deadline === undefined) {
      throw new TypeError("TimeoutPolicy needs timeoutMs or deadline");
    }
    this.#clock = options.clock ?? systemClock;
    this.#timeoutMs = options.timeoutMs;
    this.#deadline = options.deadline;
  }

  /** The absolute deadline of a call starting now. */
  deadline(): number {
    const now = this.#clock.now();
    const relative = this.#timeoutMs === undefined ? Infinity : now + this.#timeoutMs;
    return Math.min(relative, this.#deadline ?? Infinity);
  }

  execute<T>(fn: (signal: AbortSignal) => Promise<T>, signal: AbortSignal = NEVER): Promise<T> {
    const deadline = this.deadline();
    const left = deadline - this.#clock.now();
    const controller = new AbortController();
    const expired = () => new SwitchyardError(ErrorCode.Timeout, `The deadline passed (${Math.round(left)} ms budget)`);
    if (left <= 0) return Promise.reject(expired());
    return new Promise<T>((resolve, reject) => {
      const onAbort = () => {
        this.#clock.clearTimeout(timer);
        controller.abort(signal.reason);
        reject(signal.reason instanceof Error ? signal.reason : expired());
      };
      const timer = this.#clock.setTimeout(() => {
        signal.removeEventListener("abort", onAbort);
        const err = expired();
        controller.abort(err);
        reject(err);
      }, left);
      if (signal.aborted) return onAbort();
      signal.addEventListener("abort", onAbort, { once: true });
      fn(controller.signal).then(
        (value) => {
          this.#clock.clearTimeout(timer);
          signal.removeEventListener("abort", onAbort);
          resolve(value);
        },
        (err) => {
          this.#clock.clearTimeout(timer);
          signal.removeEventListener("abort", onAbort);
          reject(err);
        },
      );
    });
  }
}
