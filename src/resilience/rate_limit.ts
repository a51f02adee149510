import type { Clock } from "../deps.ts";
import { systemClock } from "../deps.ts";
import { ErrorCode, SwitchyardError } from "../errors.ts";

/** Resolved rate-limit settings (see `resilience.rateLimit` in the config). */
export interface RateLimitSettings {
  /** Tokens added per second. */
  rps: number;
  /** Bucket size: the most calls let through at once. */
  burst: number;
}

interface Bucket {
  tokens: number;
  at: number;
}

/** Keys kept before idle (full) buckets are swept. */
const MAX_KEYS = 10_000;

/**
 * Token buckets, one per key (the principal's id; the limiter itself is per plugin). Refilled
 * lazily from the clock on each take: no timers. A refused call gets 429 `rate_limited` with
 * `retryAfter` seconds until the next token.
 */
export class RateLimiter {
  readonly name: string;
  readonly settings: Readonly<RateLimitSettings>;
  readonly #clock: Clock;
  readonly #buckets = new Map<string, Bucket>();

  constructor(name: string, settings: RateLimitSettings, clock: Clock = systemClock) {
    this.name = name;
    this.settings = settings;
    this.#clock = clock;
  }

  /** Takes one token for `key`: 0 when granted, else milliseconds until one is available. */
  take(key: string): number {
    const now = this.#clock.now();
    const { rps, burst } = this.settings;
    let bucket = this.#buckets.get(key);
    if (bucket === undefined) {
      if (this.#buckets.size >= MAX_KEYS) this.#sweep(now);
      bucket = { tokens: burst, at: now };
      this.#buckets.set(key, bucket);
    } else if (now > bucket.at) {
      bucket.tokens = Math.min(burst, bucket.tokens + ((now - bucket.at) * rps) / 1000);
      bucket.at = now;
    }
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return 0;
    }
    return Math.ceil(((1 - bucket.tokens) * 1000) / rps);
  }

  /** The error for a refused call, `waitMs` as returned by {@linkcode RateLimiter.take}. */
  rejection(waitMs: number): SwitchyardError {
    return new SwitchyardError(ErrorCode.RateLimited, `Too many calls to "${this.name}"`, {
      retryAfter: Math.max(1, Math.ceil(waitMs / 1000)),
    });
  }

  /** Drops buckets that have refilled: they hold no state worth keeping. */
  #sweep(now: number): void {
    const { rps, burst } = this.settings;
    for (const [key, b] of this.#buckets) {
      if (b.tokens + ((now - b.at) * rps) / 1000 >= burst) this.#buckets.delete(key);
    }
  }
}
