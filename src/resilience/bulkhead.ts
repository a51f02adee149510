import type { Clock } from "../deps.ts";
import { systemClock } from "../deps.ts";
import { ErrorCode, SwitchyardError } from "../errors.ts";

/** Resolved bulkhead settings (see `resilience.bulkhead` in the config). */
export interface BulkheadSettings {
  /** Calls running at once. */
  maxConcurrent: number;
  /** Calls waiting for a slot; one more gets 503 `overloaded` at once. */
  maxQueue: number;
}

interface Waiter {
  resolve(): void;
  reject(err: Error): void;
  timer: unknown;
}

/**
 * Caps concurrent calls to one plugin, with a bounded FIFO queue. A slot is handed straight from
 * a finishing call to the oldest waiter. The hot path uses {@linkcode Bulkhead.tryAcquire} (no
 * allocation); only a queued call costs a promise and, with a deadline, a timer.
 */
export class Bulkhead {
  readonly name: string;
  readonly settings: Readonly<BulkheadSettings>;
  readonly #clock: Clock;
  readonly #queue: Waiter[] = [];
  #running = 0;

  constructor(name: string, settings: BulkheadSettings, clock: Clock = systemClock) {
    this.name = name;
    this.settings = settings;
    this.#clock = clock;
  }

  get running(): number {
    return this.#running;
  }

  get queued(): number {
    return this.#queue.length;
  }

  /** Takes a slot if one is free. */
  tryAcquire(): boolean {
    if (this.#running >= this.settings.maxConcurrent) return false;
    this.#running++;
    return true;
  }

  /** True when a call that found no free slot may wait. */
  canQueue(): boolean {
    return this.#queue.length < this.settings.maxQueue;
  }

  /** The error for a call that can neither run nor wait. */
  rejection(): SwitchyardError {
    return new SwitchyardError(ErrorCode.Overloaded, `Cannot call "${this.name}": too many calls in progress`, { retryAfter: 1 });
  }

  /**
   * Waits for a slot (call after `tryAcquire()` failed and `canQueue()` held). Rejects with
   * `timeout` at `deadline` (epoch ms on the clock).
   */
  wait(deadline: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = { resolve, reject, timer: undefined };
      const leave = (err: Error) => {
        const i = this.#queue.indexOf(waiter);
        if (i === -1) return;
        this.#queue.splice(i, 1);
        this.#clock.clearTimeout(waiter.timer);
        reject(err);
      };
      if (Number.isFinite(deadline)) {
        waiter.timer = this.#clock.setTimeout(
          () => leave(new SwitchyardError(ErrorCode.Timeout, `The deadline passed while waiting for "${this.name}"`)),
          deadline - this.#clock.now(),
        );
      }
      this.#queue.push(waiter);
    });
  }

  /** Gives a slot back: to the oldest waiter, or to the pool. */
  release(): void {
    const next = this.#queue.shift();
    if (next === undefined) {
      this.#running--;
      return;
    }
    this.#clock.clearTimeout(next.timer);
    next.resolve();
  }
}
