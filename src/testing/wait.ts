/**
 * Waiting on conditions instead of time: poll-until-true, a deferred promise and a counting latch.
 * @module
 */

/** Options for {@linkcode waitFor}. */
export interface WaitForOptions {
  /** How long to keep polling before rejecting. @default 5000 */
  timeoutMs?: number;
  /** Pause between two polls. @default 10 */
  intervalMs?: number;
  /** What is awaited, for the timeout error: `Timed out after 5000 ms waiting for <message>`. */
  message?: string | (() => string);
}

/** The default deadline of {@linkcode waitFor} and {@linkcode Latch.wait}. */
export const DEFAULT_WAIT_TIMEOUT_MS = 5000;

/**
 * Polls `predicate` until it returns true, or rejects once `timeoutMs` has passed.
 * A predicate that throws counts as "not yet"; the last error becomes the timeout error's `cause`.
 * @throws {Error} `Timed out after N ms waiting for …` when the deadline passes.
 */
export async function waitFor(
  predicate: () => boolean | Promise<boolean>,
  options: WaitForOptions = {},
): Promise<void> {
  const { timeoutMs = DEFAULT_WAIT_TIMEOUT_MS, intervalMs = 10, message } = options;
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      if (await predicate()) return;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() >= deadline) break;
    await new Promise((resolve) =>
      setTimeout(resolve, Math.min(intervalMs, Math.max(0, deadline - Date.now())))
    );
  }
  const what = typeof message === "function" ? message() : message ?? "condition";
  const detail = lastError === undefined ? "" : ` (last error: ${errorText(lastError)})`;
  throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}${detail}`, { cause: lastError });
}

/** A promise with its `resolve` and `reject` functions, see {@linkcode deferred}. */
export interface Deferred<T> {
  readonly promise: Promise<T>;
  resolve(value: T | PromiseLike<T>): void;
  reject(reason?: unknown): void;
  /** True once `resolve` or `reject` has been called. */
  readonly settled: boolean;
}

/** Creates a promise that the caller settles from outside. */
export function deferred<T = void>(): Deferred<T> {
  let resolve!: (value: T | PromiseLike<T>) => void;
  let reject!: (reason?: unknown) => void;
  let settled = false;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return {
    promise,
    resolve(value) {
      settled = true;
      resolve(value);
    },
    reject(reason) {
      settled = true;
      reject(reason);
    },
    get settled() {
      return settled;
    },
  };
}

/**
 * A counting latch: `wait()` resolves once `countDown()` has been called `count` times.
 * @example
 * ```ts
 * const latch = new Latch(2);
 * sub.callback = () => latch.countDown();
 * await latch.wait(1000);
 * ```
 */
export class Latch {
  readonly #initial: number;
  #count: number;
  readonly #done = deferred<void>();

  /** @throws {RangeError} when `count` is not a non-negative integer. */
  constructor(count: number) {
    if (!Number.isInteger(count) || count < 0) {
      throw new RangeError(`Cannot create a Latch with count ${count}: must be a non-negative integer`);
    }
    this.#initial = count;
    this.#count = count;
    if (count === 0) this.#done.resolve();
  }

  /** How many counts are still missing. */
  get count(): number {
    return this.#count;
  }

  /** Counts down by `n` (default 1); extra counts past zero are ignored. */
  countDown(n = 1): void {
    if (this.#count === 0) return;
    this.#count = Math.max(0, this.#count - n);
    if (this.#count === 0) this.#done.resolve();
  }

  /**
   * Resolves once the count reaches zero.
   * @throws {Error} `Latch timed out after N ms: K of M counts missing` when the deadline passes.
   */
  wait(timeoutMs: number = DEFAULT_WAIT_TIMEOUT_MS): Promise<void> {
    if (this.#count === 0) return Promise.resolve();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        reject(
          new Error(
            `Latch timed out after ${timeoutMs} ms: ${this.#count} of ${this.#initial} counts missing`,
          ),
        );
      }, timeoutMs);
    });
    return Promise.race([this.#done.promise, timeout]).finally(() => clearTimeout(timer));
  }
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
