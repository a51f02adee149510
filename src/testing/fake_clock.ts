/**
 * A {@linkcode Clock} that moves only when a test tells it to.
 * @module
 */

import type { Clock, TimerId } from "../deps.ts";

interface Timer {
  readonly id: number;
  readonly at: number;
  readonly fn: () => void;
}

/**
 * A manual clock: `now()` starts at `start` and timers fire only from {@linkcode FakeClock.tick}.
 * @example
 * ```ts
 * const clock = new FakeClock();
 * let fired = false;
 * clock.setTimeout(() => (fired = true), 100);
 * clock.tick(99);  // fired === false
 * clock.tick(1);   // fired === true
 * ```
 */
export class FakeClock implements Clock {
  #now: number;
  #nextId = 1;
  #timers: Timer[] = [];

  /** @param start the first value of `now()`. @default 0 */
  constructor(start = 0) {
    this.#now = start;
  }

  /** The current fake time in milliseconds. */
  now(): number {
    return this.#now;
  }

  /** Schedules `fn` at `now() + ms`; negative or NaN delays count as 0. */
  setTimeout(fn: () => void, ms: number): TimerId {
    const id = this.#nextId++;
    const delay = Number.isFinite(ms) && ms > 0 ? ms : 0;
    this.#timers.push({ id, at: this.#now + delay, fn });
    return id;
  }

  /** Cancels a timer; unknown ids are ignored. */
  clearTimeout(id: TimerId): void {
    this.#timers = this.#timers.filter((t) => t.id !== id);
  }

  /** How many timers are scheduled and not yet fired. */
  get pending(): number {
    return this.#timers.length;
  }

  /**
   * Moves time forward by `ms`, firing every timer that falls due, in due-time order (ties in
   * scheduling order). `now()` equals each timer's due time while it runs, and timers scheduled
   * by a callback fire in the same call when they fall due within the window.
   * @throws {RangeError} when `ms` is negative or not finite.
   */
  tick(ms: number): void {
    const target = this.#target(ms);
    for (let timer = this.#nextDue(target); timer; timer = this.#nextDue(target)) {
      this.#now = timer.at;
      timer.fn();
    }
    this.#now = target;
  }

  /**
   * Like {@linkcode FakeClock.tick}, but lets pending promise callbacks run after each timer,
   * for code that awaits between timers.
   */
  async tickAsync(ms: number): Promise<void> {
    const target = this.#target(ms);
    await settle();
    for (let timer = this.#nextDue(target); timer; timer = this.#nextDue(target)) {
      this.#now = timer.at;
      timer.fn();
      await settle();
    }
    this.#now = target;
  }

  /**
   * Fires timers, moving time to each one, until none is left.
   * @throws {Error} after `limit` timers, which usually means a timer re-arms itself forever.
   */
  runAll(limit = 10_000): void {
    for (let fired = 0; this.#timers.length > 0; fired++) {
      if (fired >= limit) throw new Error(`FakeClock.runAll() fired ${limit} timers and timers remain`);
      const next = this.#timers.reduce((a, b) => (b.at < a.at || (b.at === a.at && b.id < a.id) ? b : a));
      this.tick(next.at - this.#now);
    }
  }

  #target(ms: number): number {
    if (!Number.isFinite(ms) || ms < 0) {
      throw new RangeError(`Cannot tick by ${ms} ms: must be a finite number >= 0`);
    }
    return this.#now + ms;
  }

  #nextDue(target: number): Timer | undefined {
    let best: Timer | undefined;
    for (const t of this.#timers) {
      if (t.at <= target && (!best || t.at < best.at || (t.at === best.at && t.id < best.id))) best = t;
    }
    if (best) this.#timers = this.#timers.filter((t) => t !== best);
    return best;
  }
}

/** Lets queued promise callbacks run: one macrotask turn drains the microtask queue. */
function settle(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}
