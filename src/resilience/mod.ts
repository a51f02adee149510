/**
 * Resilience policies: timeout, retry (with a shared budget), circuit breaker, bulkhead, rate
 * limit, fallback; `wrap()` composes them; `guardedRequest()` is the router's allocation-light
 * composition over a `RequestMux`. See docs/resilience.md.
 * @module
 */
export { abortError, isRetryable, isRetryableStatus, NEVER, outcomeOf, sleep, wrap } from "./policy.ts";
export { TimeoutPolicy } from "./timeout.ts";
export { RetryPolicy } from "./retry.ts";
export { RetryBudget } from "./retry_budget.ts";
export { CircuitBreaker } from "./circuit_breaker.ts";
export { Bulkhead } from "./bulkhead.ts";
export { RateLimiter } from "./rate_limit.ts";
export { FallbackPolicy } from "./fallback.ts";
export { PluginPolicies, ResiliencePolicies } from "./plugin_policies.ts";
export { guardedRequest } from "./guarded_request.ts";
export type { Outcome, Policy } from "./policy.ts";
export type { TimeoutOptions } from "./timeout.ts";
export type { RetryPolicyOptions, RetrySettings } from "./retry.ts";
export type { RetryBudgetSettings } from "./retry_budget.ts";
export type { BreakerSettings, CircuitBreakerOptions, CircuitState, CircuitTransition } from "./circuit_breaker.ts";
export type { BulkheadSettings } from "./bulkhead.ts";
export type { RateLimitSettings } from "./rate_limit.ts";
export type { MethodPolicies, PolicyDeps } from "./plugin_policies.ts";
export type { CallObserver, GuardedCall, Transport } from "./guarded_request.ts";
