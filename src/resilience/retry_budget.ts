import type { Clock } from "../deps.ts";
import { systemClock } from "../deps.ts";

/** Resolved budget settings. */
export interface RetryBudgetSettings {
  /** Retries may be this share of requests, counted both in flight and in total (0.2: a failing plugin sees ≤ ~1.2× traffic). */
  budgetRatio: number;
  /** Retries always allowed: this many in flight, and this many per second on top of the ratio. */
  budgetMinConcurrent: number;
}

/**
 * A retry budget shared by every request to one plugin. Two caps, both counters only:
 * - in flight (Envoy's `retry_budget`): retries running or backing off ≤ `max(budgetMinConcurrent,
 *   budgetRatio × requests in flight)`;
 * - in total (Finagle's `RetryBudget`): each request deposits `budgetRatio` of a token, each
 *   retry takes a whole one; `budgetMinConcurrent` tokens per second are added with time (lazily,
 *   from the clock), so a quiet plugin can still be retried. The balance holds at most
 *   `max(1, budgetMinConcurrent)` tokens, which bounds a burst of retries.
 * Over N requests in T seconds, retries ≤ budgetRatio × N + budgetMinConcurrent × (T + 1).
 */
export class RetryBudget {
  readonly settings: Readonly<RetryBudgetSettings>;
  readonly #clock: Clock;
  readonly #maxTokens: number;
  #tokens: number;
  #at: number;
  #active = 0;
  #retrying = 0;

  constructor(settings: RetryBudgetSettings, clock: Clock = systemClock) {
    this.settings = settings;
    this.#clock = clock;
    this.#maxTokens = Math.max(1, settings.budgetMinConcurrent);
    this.#tokens = this.#maxTokens;
    this.#at = clock.now();
  }

  /** Requests in flight. */
  get active(): number {
    return this.#active;
  }

  /** Whole retries the total cap allows now. */
  get tokens(): number {
    const now = this.#clock.now();
    return Math.floor(Math.min(this.#maxTokens, this.#tokens + (Math.max(0, now - this.#at) * this.settings.budgetMinConcurrent) / 1000));
  }

  /** Retries in flight. */
  get retrying(): number {
    return this.#retrying;
  }

  /** A request starts. Pair with {@linkcode RetryBudget.end}. */
  begin(): void {
    this.#active++;
    this.#tokens = Math.min(this.#maxTokens, this.#tokens + this.settings.budgetRatio);
  }

  end(): void {
    this.#active--;
  }

  /** Takes a retry slot if the budget allows. Pair with {@linkcode RetryBudget.release}. */
  tryAcquire(): boolean {
    const { budgetRatio, budgetMinConcurrent } = this.settings;
    if (this.#retrying + 1 > Math.max(budgetMinConcurrent, budgetRatio * this.#active)) return false;
    const now = this.#clock.now();
    if (now > this.#at) {
      this.#tokens = Math.min(this.#maxTokens, this.#tokens + ((now - this.#at) * budgetMinConcurrent) / 1000);
      this.#at = now;
    }
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    this.#retrying++;
    return true;
  }

  release(): void {
    this.#retrying--;
  }
}
