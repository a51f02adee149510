/**
 * The resilience settings: retry, breaker, bulkhead and rate limit, their defaults, and their
 * per-plugin and per-method overrides (docs/resilience.md). The config composes these schemas.
 * @module
 */
import * as v from "valibot";

/** The default deadline of one request, all attempts included. */
export const DEFAULT_TIMEOUT_MS = 10_000;

/** The default idle timeout of a stream: no item (or no pull by the caller) for this long ends it. */
export const DEFAULT_STREAM_IDLE_MS = 30_000;
/** The default deadline of a whole stream. */
export const DEFAULT_STREAM_TIMEOUT_MS = 300_000;

export const Millis = v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(3_600_000));

// Resilience (docs/resilience.md). Breaker and retries are on by default (retries only for
// idempotent methods or requests with an Idempotency-Key); bulkhead and rate limit are off.
export const DEFAULT_RETRY_MAX_ATTEMPTS = 3;
export const DEFAULT_RETRY_BASE_DELAY_MS = 10;
export const DEFAULT_RETRY_MAX_DELAY_MS = 1_000;
export const DEFAULT_RETRY_BUDGET_RATIO = 0.2;
export const DEFAULT_RETRY_BUDGET_MIN_CONCURRENT = 3;
export const DEFAULT_BREAKER_CONSECUTIVE_FAILURES = 5;
export const DEFAULT_BREAKER_FAILURE_RATE = 0.5;
export const DEFAULT_BREAKER_MIN_REQUESTS = 20;
export const DEFAULT_BREAKER_WINDOW_MS = 10_000;
export const DEFAULT_BREAKER_RESET_MS = 10_000;
export const DEFAULT_BREAKER_HALF_OPEN_PROBES = 1;
export const DEFAULT_BREAKER_SUCCESS_THRESHOLD = 1;
export const DEFAULT_BULKHEAD_MAX_QUEUE = 0;

const Count = v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(1_000_000));
const DelayMs = v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(3_600_000));
const Ratio = v.pipe(v.number(), v.check((n) => n > 0 && n <= 1, "must be in (0, 1]"));

const retryFields = {
  /** Attempts in all, the first included; 1 turns retries off. */
  maxAttempts: v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(10)),
  baseDelayMs: DelayMs,
  maxDelayMs: DelayMs,
  /** Retries in flight ≤ budgetRatio × requests in flight... */
  budgetRatio: v.pipe(v.number(), v.minValue(0), v.maxValue(1)),
  /** ...but always this many. */
  budgetMinConcurrent: v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(10_000)),
};
const breakerFields = {
  enabled: v.boolean(),
  consecutiveFailures: Count,
  failureRate: Ratio,
  minRequests: Count,
  windowMs: Millis,
  resetMs: Millis,
  halfOpenProbes: Count,
  successThreshold: Count,
};

export const RetrySchema = v.strictObject({
  maxAttempts: v.optional(retryFields.maxAttempts, DEFAULT_RETRY_MAX_ATTEMPTS),
  baseDelayMs: v.optional(retryFields.baseDelayMs, DEFAULT_RETRY_BASE_DELAY_MS),
  maxDelayMs: v.optional(retryFields.maxDelayMs, DEFAULT_RETRY_MAX_DELAY_MS),
  budgetRatio: v.optional(retryFields.budgetRatio, DEFAULT_RETRY_BUDGET_RATIO),
  budgetMinConcurrent: v.optional(retryFields.budgetMinConcurrent, DEFAULT_RETRY_BUDGET_MIN_CONCURRENT),
});
export const BreakerSchema = v.strictObject({
  enabled: v.optional(breakerFields.enabled, true),
  consecutiveFailures: v.optional(breakerFields.consecutiveFailures, DEFAULT_BREAKER_CONSECUTIVE_FAILURES),
  failureRate: v.optional(breakerFields.failureRate, DEFAULT_BREAKER_FAILURE_RATE),
  minRequests: v.optional(breakerFields.minRequests, DEFAULT_BREAKER_MIN_REQUESTS),
  windowMs: v.optional(breakerFields.windowMs, DEFAULT_BREAKER_WINDOW_MS),
  resetMs: v.optional(breakerFields.resetMs, DEFAULT_BREAKER_RESET_MS),
  halfOpenProbes: v.optional(breakerFields.halfOpenProbes, DEFAULT_BREAKER_HALF_OPEN_PROBES),
  successThreshold: v.optional(breakerFields.successThreshold, DEFAULT_BREAKER_SUCCESS_THRESHOLD),
});
export const BulkheadSchema = v.strictObject({
  maxConcurrent: Count,
  maxQueue: v.optional(v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(1_000_000)), DEFAULT_BULKHEAD_MAX_QUEUE),
});
export const RateLimitSchema = v.strictObject({
  /** Tokens per second, per principal and plugin. */
  rps: v.pipe(v.number(), v.check((n) => n > 0 && n <= 1_000_000, "must be in (0, 1000000]")),
  /** Bucket size. @default max(1, ceil(rps)) */
  burst: v.optional(Count),
});
/** Overrides of `resilience.retry` / `.breaker`: every field optional, missing ones inherit. */
export const RetryOverrideSchema = v.partial(v.strictObject(retryFields));
export const BreakerOverrideSchema = v.partial(v.strictObject(breakerFields));

export const ResilienceSchema = v.strictObject({
  retry: v.optional(RetrySchema, {}),
  breaker: v.optional(BreakerSchema, {}),
  /** Off unless set. */
  bulkhead: v.optional(BulkheadSchema),
  /** Off unless set. */
  rateLimit: v.optional(RateLimitSchema),
});

/** Per-method overrides. */
export const MethodPolicySchema = v.strictObject({
  timeoutMs: v.optional(Millis),
  /** A streaming method: no item for this long ends the stream (`timeout`). */
  streamIdleMs: v.optional(Millis),
  /** A streaming method: the deadline of the whole stream. */
  streamTimeoutMs: v.optional(Millis),
  retry: v.optional(RetryOverrideSchema),
  /** A breaker of this method's own (instead of sharing the plugin's), with these overrides. */
  breaker: v.optional(BreakerOverrideSchema),
  /** A static 200 answer while the circuit is open. */
  fallback: v.optional(v.unknown()),
});

/** The resilience fields a plugin entry may override (`plugins.<name>`): missing ones inherit `resilience.*`. */
export const PLUGIN_RESILIENCE_FIELDS = {
  /** Request timeout for this plugin's methods. */
  timeoutMs: v.optional(Millis),
  /** Idle timeout of this plugin's streams (default `router.streamIdleMs`). */
  streamIdleMs: v.optional(Millis),
  /** Deadline of this plugin's streams (default `router.streamTimeoutMs`). */
  streamTimeoutMs: v.optional(Millis),
  retry: v.optional(RetryOverrideSchema),
  breaker: v.optional(BreakerOverrideSchema),
  bulkhead: v.optional(BulkheadSchema),
  rateLimit: v.optional(RateLimitSchema),
  methods: v.optional(v.record(v.pipe(v.string(), v.regex(/^[a-zA-Z][a-zA-Z0-9_-]{0,62}$/)), MethodPolicySchema)),
};
const PluginResilienceSchema = v.strictObject(PLUGIN_RESILIENCE_FIELDS);

export type ResolvedResilience = v.InferOutput<typeof ResilienceSchema>;
export type MethodPolicy = v.InferOutput<typeof MethodPolicySchema>;
/** One plugin's resilience overrides, as resolved. */
export type PluginResilience = v.InferOutput<typeof PluginResilienceSchema>;
