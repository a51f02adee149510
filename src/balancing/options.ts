import * as v from "valibot";
import semver from "semver";

export const DEFAULT_BALANCER = "least-pending";
export const DEFAULT_CONSECUTIVE_FAILURES = 5;
export const DEFAULT_BASE_EJECTION_MS = 10_000;
export const DEFAULT_MAX_EJECTION_MS = 300_000;
export const DEFAULT_MAX_EJECTION_PERCENT = 50;

/**
 * Which regions' instances take a plugin's requests, for a router with a `region`:
 * `prefer-local` its own region's while one is available there, else any; `local-only` its own
 * region's or none (503 `plugin_unavailable`); `any` every region alike.
 */
export const LocalitySchema = v.picklist(["prefer-local", "local-only", "any"]);
export type Locality = v.InferOutput<typeof LocalitySchema>;

/** The strategies by config name. */
export const BalancerNameSchema = v.picklist(["queue", "round-robin", "weighted", "least-pending", "latency"]);

const Millis = v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(3_600_000));

/** `balancing.outlier`: ejection of instances that keep failing. */
export const OutlierOptionsSchema = v.strictObject({
  /** 5xx, timeouts or no-responders in a row that eject an instance; 0 turns ejection off. @default 5 */
  consecutiveFailures: v.optional(v.pipe(v.number(), v.integer(), v.minValue(0)), DEFAULT_CONSECUTIVE_FAILURES),
  /** The first ejection lasts this long; the n-th lasts n times as long. @default 10000 */
  baseEjectionMs: v.optional(Millis, DEFAULT_BASE_EJECTION_MS),
  /** No ejection lasts longer. @default 300000 */
  maxEjectionMs: v.optional(Millis, DEFAULT_MAX_EJECTION_MS),
  /** At most this share of a version's instances is ejected at once. @default 50 */
  maxEjectionPercent: v.optional(v.pipe(v.number(), v.minValue(0), v.maxValue(100)), DEFAULT_MAX_EJECTION_PERCENT),
});
export type OutlierOptions = v.InferInput<typeof OutlierOptionsSchema>;
export type ResolvedOutlierOptions = v.InferOutput<typeof OutlierOptionsSchema>;

/** Top-level `balancing`: the default strategy and the outlier policy for every plugin. */
export const BalancingOptionsSchema = v.strictObject({
  /** @default "least-pending" */
  balancer: v.optional(BalancerNameSchema, DEFAULT_BALANCER),
  /** least-pending's slow start for new instances. @default 2000 */
  slowStartMs: v.optional(Millis, 2_000),
  outlier: v.optional(OutlierOptionsSchema, {}),
  /** @default "prefer-local" */
  locality: v.optional(LocalitySchema, "prefer-local"),
});
export type ResolvedBalancingOptions = v.InferOutput<typeof BalancingOptionsSchema>;

/** Canary split: version range → weight, e.g. `{ "1.4.0": 90, "2.1.0": 10 }`. */
export const CanarySchema = v.pipe(
  v.record(
    v.pipe(v.string(), v.minLength(1), v.maxLength(100), v.check((r) => semver.validRange(r) !== null, "must be a semver range")),
    v.pipe(v.number(), v.minValue(0)),
  ),
  v.check((r) => Object.keys(r).length >= 1 && Object.values(r).some((w) => w > 0), "needs at least one positive weight"),
);
