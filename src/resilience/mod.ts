/**
 * Resilience parts, each a small state machine the request pipeline (`src/pipeline/`) drives:
 * retry backoff with a shared budget, circuit breaker, bulkhead, rate limit; the policies of each
 * plugin built from the config; and their option schemas. See docs/resilience.md.
 * @module
 */
export { RetryPolicy } from "./retry.ts";
export { RetryBudget } from "./retry_budget.ts";
export { CircuitBreaker } from "./circuit_breaker.ts";
export { Bulkhead } from "./bulkhead.ts";
export { RateLimiter } from "./rate_limit.ts";
export { PluginPolicies, ResiliencePolicies } from "./plugin_policies.ts";
export {
  BreakerSchema,
  BulkheadSchema,
  DEFAULT_STREAM_IDLE_MS,
  DEFAULT_STREAM_TIMEOUT_MS,
  DEFAULT_TIMEOUT_MS,
  MethodPolicySchema,
  PLUGIN_RESILIENCE_FIELDS,
  RateLimitSchema,
  ResilienceSchema,
  RetrySchema,
} from "./options.ts";
export type { MethodPolicy, PluginResilience, ResolvedResilience } from "./options.ts";
export type { RetryPolicyOptions, RetrySettings } from "./retry.ts";
export type { RetryBudgetSettings } from "./retry_budget.ts";
export type { BreakerSettings, CircuitBreakerOptions, CircuitState, CircuitTransition, Outcome } from "./circuit_breaker.ts";
export type { BulkheadSettings } from "./bulkhead.ts";
export type { RateLimitSettings } from "./rate_limit.ts";
export type { MethodPolicies, PolicyDeps, PolicySettings } from "./plugin_policies.ts";
