import type { Clock } from "../deps.ts";
import { ErrorCode, SwitchyardError } from "../errors.ts";

/** Options of {@linkcode FairQueue}. */
export interface FairQueueOptions {
  /** Tasks running at once. */
  concurrency: number;
  /** Tasks waiting in all; more are refused at once. */
  maxWaiting: number;
  /** Tasks waiting under one key; more under that key are refused at once. */
  maxWaitingPerKey: number;
  /** A task that waited this long is refused. */
  maxWaitMs: number;
  clock: Clock;
}

interface Waiter {
  start(): void;
  refuse(err: SwitchyardError): void;
  timer: unknown;
}

/**
 * Runs at most `concurrency` tasks at once and serves the waiting ones round-robin by key: when a
 * slot frees, the next key in turn runs its oldest task. A flood of tasks under one key (wrong
 * passwords for one username) then holds at most its share of the slots, and a task under another
 * key waits for at most one turn of the keys waiting, not behind the whole flood. Refusals are
 * `overloaded` (503 with `Retry-After`).
 */
export class FairQueue {
  readonly #options: FairQueueOptions;
  /** Waiting tasks by key; the Map's order is the turn order (a served key moves to the end). */
  readonly #queues = new Map<string, Waiter[]>();
  #running = 0;
  #waiting = 0;

  constructor(options: FairQueueOptions) {
    this.#options = options;
  }

  /** Tasks running now. */
  get running(): number {
    return this.#running;
  }

  /** Tasks waiting now. */
  get waiting(): number {
    return this.#waiting;
  }

  /**
   * Runs `task` when a slot is free and it is `key`'s turn.
   * @throws {SwitchyardError} `overloaded` when too many tasks wait (in all or under `key`), or
   *   when this one waited `maxWaitMs`.
   */
  run<T>(key: string, task: () => Promise<T>): Promise<T> {
    const { concurrency, maxWaiting, maxWaitingPerKey, maxWaitMs, clock } = this.#options;
    if (this.#running < concurrency && this.#waiting === 0) return this.#start(task);
    const queue = this.#queues.get(key);
    if (this.#waiting >= maxWaiting || (queue?.length ?? 0) >= maxWaitingPerKey) {
      return Promise.reject(overloaded());
    }
    return new Promise<T>((resolve, reject) => {
      const waiter: Waiter = {
        start: () => {
          clock.clearTimeout(waiter.timer);
          this.#start(task).then(resolve, reject);
        },
        refuse: reject,
        timer: clock.setTimeout(() => this.#expire(key, waiter), maxWaitMs),
      };
      if (queue === undefined) this.#queues.set(key, [waiter]);
      else queue.push(waiter);
      this.#waiting++;
    });
  }

  async #start<T>(task: () => Promise<T>): Promise<T> {
    this.#running++;
    try {
      return await task();
    } finally {
      this.#running--;
      this.#next();
    }
  }

  #next(): void {
    while (this.#running < this.#options.concurrency) {
      const turn = this.#queues.entries().next();
      if (turn.done) return;
      const [key, queue] = turn.value;
      const waiter = queue.shift()!;
      this.#queues.delete(key);
      if (queue.length > 0) this.#queues.set(key, queue);
      this.#waiting--;
      waiter.start();
    }
  }

  #expire(key: string, waiter: Waiter): void {
    const queue = this.#queues.get(key);
    const at = queue?.indexOf(waiter) ?? -1;
    if (queue === undefined || at === -1) return;
    queue.splice(at, 1);
    if (queue.length === 0) this.#queues.delete(key);
    this.#waiting--;
    waiter.refuse(overloaded());
  }
}

function overloaded(): SwitchyardError {
  return new SwitchyardError(ErrorCode.Overloaded, "Too many password checks waiting", { retryAfter: 1 });
}
