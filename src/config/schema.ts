import * as v from "valibot";
import semver from "semver";
import { BalancerNameSchema, BalancingOptionsSchema, CanarySchema } from "../balancing/options.ts";
import { AdminSchema } from "../lifecycle/options.ts";
import { SupervisedPluginFields, SupervisorSchema } from "../supervisor/options.ts";
import { AuthSchema } from "../auth/options.ts";
import { AllowListSchema } from "../supervisor/allow_list_schema.ts";
import { METRICS_SECURITY_FIELDS, NATS_SECURITY_FIELDS, ROUTER_SECURITY_FIELDS } from "./security_schema.ts";

export const DEFAULT_PORT = 8080;
export const DEFAULT_HOST = "0.0.0.0";
/** 1 MiB: well below NATS's default max_payload of 1 MiB plus headers. */
export const DEFAULT_BODY_LIMIT_BYTES = 1024 * 1024 - 16 * 1024;
export const DEFAULT_TIMEOUT_MS = 10_000;
export const DEFAULT_DRAIN_TIMEOUT_MS = 10_000;
export const DEFAULT_DISCOVERY_INTERVAL_MS = 5_000;

const Millis = v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(3_600_000));

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
  retry: v.optional(RetryOverrideSchema),
  /** A breaker of this method's own (instead of sharing the plugin's), with these overrides. */
  breaker: v.optional(BreakerOverrideSchema),
  /** A static 200 answer while the circuit is open. */
  fallback: v.optional(v.unknown()),
});

/** Per-plugin overrides. */
export const PluginPolicySchema = v.strictObject({
  /** Request timeout for this plugin's methods. */
  timeoutMs: v.optional(Millis),
  /** Resilience overrides (docs/resilience.md); missing fields inherit `resilience.*`. */
  retry: v.optional(RetryOverrideSchema),
  breaker: v.optional(BreakerOverrideSchema),
  bulkhead: v.optional(BulkheadSchema),
  rateLimit: v.optional(RateLimitSchema),
  methods: v.optional(v.record(v.pipe(v.string(), v.regex(/^[a-zA-Z][a-zA-Z0-9_-]{0,62}$/)), MethodPolicySchema)),
  /** Semver range for requests without `x-plugin-version` (default: the highest stable version). */
  version: v.optional(v.pipe(v.string(), v.minLength(1), v.maxLength(100), v.check((r) => semver.validRange(r) !== null, "must be a semver range"))),
  /** Canary split for requests without `x-plugin-version`: range → weight, e.g. `{ "1.4.0": 90, "2.1.0": 10 }`. */
  canary: v.optional(CanarySchema),
  /** Balancing strategy (default: `balancing.balancer`). */
  balancer: v.optional(BalancerNameSchema),
  /** Weights of the `weighted` balancer by instance id (default: the instance's `sy.weight`, else 1). */
  weights: v.optional(v.record(v.string(), v.pipe(v.number(), v.minValue(0)))),
  /** What `switchyard up` runs: module, runtime, replicas, env, args, options (docs/lifecycle.md). */
  ...SupervisedPluginFields,
});

export const ConfigSchema = v.strictObject({
  router: v.optional(
    v.strictObject({
      host: v.optional(v.string(), DEFAULT_HOST),
      port: v.optional(v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(65535)), DEFAULT_PORT),
      bodyLimitBytes: v.optional(v.pipe(v.number(), v.integer(), v.minValue(2), v.maxValue(64 * 1024 * 1024)), DEFAULT_BODY_LIMIT_BYTES),
      timeoutMs: v.optional(Millis, DEFAULT_TIMEOUT_MS),
      drainTimeoutMs: v.optional(Millis, DEFAULT_DRAIN_TIMEOUT_MS),
      ...ROUTER_SECURITY_FIELDS,
    }),
    {},
  ),
  nats: v.optional(
    v.strictObject({
      servers: v.optional(v.pipe(v.array(v.pipe(v.string(), v.minLength(1))), v.minLength(1))),
      user: v.optional(v.string()),
      pass: v.optional(v.string()),
      token: v.optional(v.string()),
      ...NATS_SECURITY_FIELDS,
    }),
    {},
  ),
  /** Subject prefix shared by the router and its plugins. */
  prefix: v.optional(v.pipe(v.string(), v.regex(/^[A-Za-z0-9_-]{1,32}$/)), "sy"),
  discovery: v.optional(v.strictObject({ intervalMs: v.optional(Millis, DEFAULT_DISCOVERY_INTERVAL_MS) }), {}),
  /** Default balancer, slow start and outlier ejection (see docs/balancing.md). */
  balancing: v.optional(BalancingOptionsSchema, {}),
  log: v.optional(
    v.strictObject({
      level: v.optional(v.picklist(["debug", "info", "warn", "error"]), "info"),
      format: v.optional(v.picklist(["json", "pretty"]), "json"),
    }),
    {},
  ),
  plugins: v.optional(v.record(v.pipe(v.string(), v.regex(/^[a-z][a-z0-9-]{0,62}$/)), PluginPolicySchema), {}),
  resilience: v.optional(ResilienceSchema, {}),
  /** The router's `/admin/…` routes: drain, resume, in-flight (docs/lifecycle.md). */
  admin: v.optional(AdminSchema, {}),
  /** Restarts, crash loops, start and drain deadlines of `switchyard up` (docs/lifecycle.md). */
  supervisor: v.optional(SupervisorSchema, {}),
  /** Prometheus metrics (docs/telemetry.md). */
  metrics: v.optional(
    v.strictObject({
      enabled: v.optional(v.boolean(), true),
      path: v.optional(v.pipe(v.string(), v.regex(/^\/[A-Za-z0-9._\/-]{0,100}$/), v.check((p) => !p.startsWith("/v1/"), "must not be under /v1/")), "/metrics"),
      /** Process, heap, GC and event-loop metrics. */
      processMetrics: v.optional(v.boolean(), true),
      ...METRICS_SECURITY_FIELDS,
    }),
    {},
  ),
  /** Authentication and grants at the router (docs/security.md). Off unless set. */
  auth: v.optional(AuthSchema),
  /** SHA-256 allow-list of plugin code, checked before an instance starts (docs/security.md). */
  allowList: v.optional(AllowListSchema),
});

export type Config = v.InferInput<typeof ConfigSchema>;
export type ResolvedConfig = v.InferOutput<typeof ConfigSchema>;
export type PluginPolicy = v.InferOutput<typeof PluginPolicySchema>;
export type ResolvedResilience = v.InferOutput<typeof ResilienceSchema>;
export type MethodPolicy = v.InferOutput<typeof MethodPolicySchema>;
