import type { Clock } from "../deps.ts";
import { systemClock } from "../deps.ts";
import type { Policy } from "./policy.ts";
import { isRetryable, NEVER, sleep } from "./policy.ts";
import { RetryBudget } from "./retry_budget.ts";

/** Resolved retry settings (see `resilience.retry` in the config). */
export interface RetrySettings {
  /** Attempts in all, the first included; 1 turns retries off. */
  maxAttempts: number;
  /** Backoff cap of the first retry; doubles for each further one... */
  baseDelayMs: number;
  /** ...up to this. */
  maxDelayMs: number;
}

export interface RetryPolicyOptions {
  settings: RetrySettings;
  /** Shared by every request to the plugin; without one, retries are limited only by `maxAttempts`. */
  budget?: RetryBudget;
  clock?: Clock;
  /** In [0, 1). @default Math.random */
  random?: () => number;
  /** Retries stop before a backoff would end past this (epoch ms, on `clock`). */
  deadline?: () => number;
  /** Which errors to retry. @default {@linkcode isRetryable}: no responders, 503, timeout */
  isRetryable?: (err: unknown) => boolean;
  /** Called before each retry (1 = the first retry), e.g. for a span event. */
  onRetry?: (retry: number, err: unknown, delayMs: number) => void;
}

/**
 * Retries with exponential backoff and full jitter: retry `n` waits `random() × min(maxDelayMs,
 * baseDelayMs × 2^(n-1))`. Only {@linkcode isRetryable} errors (never a 4xx), only within the
 * budget, never past the deadline. The caller decides whether a call may be retried at all
 * (idempotent method or an `Idempotency-Key`); {@linkcode RetryPolicy.execute} assumes it may.
 */
export class RetryPolicy implements Policy {
  readonly settings: Readonly<RetrySettings>;
  readonly budget: RetryBudget | undefined;
  readonly #clock: Clock;
  readonly #random: () => number;
  readonly #options: RetryPolicyOptions;

  constructor(options: RetryPolicyOptions) {
    this.settings = options.settings;
    this.budget = options.budget;
    this.#clock = options.clock ?? systemClock;
    this.#random = options.random ?? Math.random;
    this.#options = options;
  }

  /** The backoff before retry `retry` (1 = the first retry). */
  delayMs(retry: number): number {
    const cap = Math.min(this.settings.maxDelayMs, this.settings.baseDelayMs * 2 ** (retry - 1));
    return Math.floor(this.#random() * cap);
  }

  async execute<T>(fn: (signal: AbortSignal) => Promise<T>, signal: AbortSignal = NEVER): Promise<T> {
    const budget = this.budget;
    const retryable = this.#options.isRetryable ?? isRetryable;
    budget?.begin();
    // A retry holds its budget slot through its backoff and its attempt.
    let held = false;
    try {
      for (let attempt = 1;; attempt++) {
        try {
          return await fn(signal);
        } catch (err) {
          if (held) {
            budget!.release();
            held = false;
          }
          if (attempt >= this.settings.maxAttempts || !retryable(err) || signal.aborted) throw err;
          const delay = this.delayMs(attempt);
          const deadline = this.#options.deadline?.() ?? Infinity;
          if (this.#clock.now() + delay >= deadline) throw err;
          if (budget !== undefined) {
            if (!budget.tryAcquire()) throw err;
            held = true;
          }
          this.#options.onRetry?.(attempt, err, delay);
          await sleep(this.#clock, delay, signal);
        }
      }
    } finally {
      if (held) budget!.release();
      budget?.end();
    }
  }
}
