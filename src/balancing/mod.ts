/**
 * Load balancing: which instance of a version serves a request, outlier ejection, and the
 * version rules (config default range, canary split).
 *
 * @example
 * ```ts
 * import { createBalancer } from "./mod.ts";
 * const balancer = createBalancer("least-pending");
 * const instance = balancer.pick(version.live, { now: Date.now(), random: Math.random, avoid: undefined });
 * ```
 * @module
 */
export { countAvailable, isAvailable, nthAvailable } from "./types.ts";
export { createQueueBalancer } from "./queue.ts";
export { createRoundRobinBalancer } from "./round_robin.ts";
export { createWeightedBalancer } from "./weighted.ts";
export { createLeastPendingBalancer, DEFAULT_SLOW_START_MS } from "./least_pending.ts";
export { createLatencyBalancer, EWMA_ALPHA, recordLatency } from "./latency.ts";
export { OutlierDetector } from "./outlier.ts";
export { Balancing, createBalancer, NONE_LOCAL } from "./balancing.ts";
export { VersionRules } from "./version_rules.ts";
export {
  BalancerNameSchema,
  BalancingOptionsSchema,
  CanarySchema,
  DEFAULT_BALANCER,
  DEFAULT_BASE_EJECTION_MS,
  DEFAULT_CONSECUTIVE_FAILURES,
  DEFAULT_MAX_EJECTION_MS,
  DEFAULT_MAX_EJECTION_PERCENT,
  LocalitySchema,
  OutlierOptionsSchema,
} from "./options.ts";
export type { BalanceContext, Balancer, BalancerName } from "./types.ts";
export type { LeastPendingOptions } from "./least_pending.ts";
export type { BalancingSettings, PluginBalancing } from "./balancing.ts";
export type { PluginVersionRule } from "./version_rules.ts";
export type { Locality, OutlierOptions, ResolvedBalancingOptions, ResolvedOutlierOptions } from "./options.ts";
