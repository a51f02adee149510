/**
 * The one request pipeline shared by the router and `ctx.call`: resolve the version and method,
 * admit (rate limit), send (breaker, bulkhead, instance pick, attempts, retries), with the reply
 * decoded once. See docs/resilience.md and docs/balancing.md.
 *
 * @example
 * ```ts
 * import { RequestPipeline } from "./mod.ts";
 * const pipeline = new RequestPipeline({ registry, mux, settings, clock, logger });
 * const target = pipeline.resolve("hello", "greet", undefined);
 * pipeline.admit(target, "anonymous");
 * const reply = await pipeline.send(target, { data, headers, deadline: Date.now() + 5_000, mayRetry: true });
 * ```
 * @module
 */
export { RequestPipeline } from "./pipeline.ts";
export { isRetryableStatus } from "./send.ts";
export { DEFAULT_MAX_REPLY_BYTES } from "./exchange.ts";
export { DEFAULT_STREAM_WINDOW, StreamCall } from "./stream_call.ts";
export type { StreamCallOptions } from "./stream_call.ts";
export { methodNotFound, pluginNotFound } from "./not_found.ts";
export type { RequestPipelineOptions } from "./pipeline.ts";
export type { Call, SendContext, Target } from "./types.ts";
export type { CallObserver, RetryRefusal } from "./observer.ts";
export type { PipelinePluginSettings, PipelineSettings } from "./settings.ts";
