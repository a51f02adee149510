/**
 * A wall clock that a test can move forward at once.
 * @module
 */

import type { Clock, TimerId } from "../deps.ts";

interface Timer {
  readonly at: number;
  readonly fn: () => void;
  readonly handle: ReturnType<typeof setTimeout>;
}

/**
 * The system clock plus an offset that only {@linkcode OffsetClock.advance} changes: time passes
 * as usual (timers fire in real time), and a test jumps over a window (a breaker's reset, a
 * refill) instead of sleeping through it. Unlike `FakeClock`, a whole router can run on
 * it: request deadlines, polls and drains keep working in real time.
 * @example
 * ```ts
 * const clock = new OffsetClock();
 * const t0 = clock.now();
 * clock.advance(60_000); // clock.now() - t0 >= 60_000, and timers due by then have fired
 * ```
 */
export class OffsetClock implements Clock {
  #offset = 0;
  #nextId = 1;
  readonly #timers = new Map<number, Timer>();

  /** Wall-clock milliseconds plus every {@linkcode OffsetClock.advance} so far. */
  now(): number {
    return Date.now() + this.#offset;
  }

  /** Fires `fn` after `ms` of real time, or sooner when `advance()` moves past its due time. */
  setTimeout(fn: () => void, ms: number): TimerId {
    const id = this.#nextId++;
    const delay = Number.isFinite(ms) && ms > 0 ? ms : 0;
    const handle = setTimeout(() => {
      this.#timers.delete(id);
      fn();
    }, delay);
    this.#timers.set(id, { at: this.now() + delay, fn, handle });
    return id;
  }

  /** Cancels a timer; unknown ids are ignored. */
  clearTimeout(id: TimerId): void {
    const timer = this.#timers.get(id as number);
    if (timer === undefined) return;
    clearTimeout(timer.handle);
    this.#timers.delete(id as number);
  }

  /**
   * Moves time forward by `ms` at once, then fires the timers that have fallen due, in due-time
   * order (ties in scheduling order).
   * @throws {RangeError} when `ms` is negative or not finite.
   */
  advance(ms: number): void {
    if (!Number.isFinite(ms) || ms < 0) {
      throw new RangeError(`Cannot advance by ${ms} ms: must be a finite number >= 0`);
    }
    this.#offset += ms;
    const now = this.now();
    const due = [...this.#timers].filter(([, t]) => t.at <= now).sort(([a, x], [b, y]) =>
      x.at - y.at || a - b
    );
    for (const [id, timer] of due) {
      // An earlier callback may have cancelled it.
      if (!this.#timers.has(id)) continue;
      clearTimeout(timer.handle);
      this.#timers.delete(id);
      timer.fn();
    }
  }
}
