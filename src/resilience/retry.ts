import type { RetryBudget } from "./retry_budget.ts";

/** Resolved retry settings (see `resilience.retry` in the config). */
export interface RetrySettings {
  /** Attempts in all, the first included; 1 turns retries off. */
  maxAttempts: number;
  /** Backoff cap of the first retry; doubles for each further one... */
  baseDelayMs: number;
  /** ...up to this. */
  maxDelayMs: number;
}

/** Options of {@linkcode RetryPolicy}. */
export interface RetryPolicyOptions {
  settings: RetrySettings;
  /** Shared by every request to the plugin. */
  budget: RetryBudget;
  /** In [0, 1). @default Math.random */
  random?: () => number;
}

/**
 * When to retry and how long to wait: exponential backoff with full jitter, retry `n` waits
 * `random() × min(maxDelayMs, baseDelayMs × 2^(n-1))`, within the plugin's shared budget. The
 * request pipeline runs the attempts; only it knows whether a call may be retried at all
 * (idempotent method or an `Idempotency-Key`) and whether a failure is worth a retry.
 */
export class RetryPolicy {
  readonly settings: Readonly<RetrySettings>;
  readonly budget: RetryBudget;
  readonly #random: () => number;

  constructor(options: RetryPolicyOptions) {
    this.settings = options.settings;
    this.budget = options.budget;
    this.#random = options.random ?? Math.random;
  }

  /** The backoff before retry `retry` (1 = the first retry). */
  delayMs(retry: number): number {
    const cap = Math.min(this.settings.maxDelayMs, this.settings.baseDelayMs * 2 ** (retry - 1));
    return Math.floor(this.#random() * cap);
  }
}
