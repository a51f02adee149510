/**
 * Telemetry: router metrics (prom-client exposition over plain counters), OpenTelemetry spans
 * for the router, NATS attempts and plugin handlers, trace context in NATS headers, and the JSON
 * logger. Everything here depends only on `@opentelemetry/api`; the SDK is started by the CLI
 * from `otel_sdk.ts` (not exported here, so library users never load it). See docs/telemetry.md.
 *
 * @example
 * ```ts
 * import { createRouterMetrics } from "./mod.ts";
 * const metrics = createRouterMetrics({ processMetrics: false });
 * metrics.series("hello", "greet").record(200, 0.0004);
 * const text = await metrics.render(); // switchyard_requests_total{plugin="hello",method="greet",code="200"} 1 …
 * ```
 * @module
 */
export { createLogger, isLogLevel } from "./logger.ts";
export { BREAKER_STATE_VALUE, createRouterMetrics, LATENCY_BUCKETS_SECONDS, MethodSeries, PluginSeries, UNKNOWN_LABEL } from "./metrics.ts";
export { httpHeaderGetter, natsHeaderGetter, natsHeaderSetter } from "./propagation.ts";
export { RequestTrace, RouterTelemetry } from "./router_telemetry.ts";
export { STREAM_EVENT_EVERY, StreamMeter } from "./stream_meter.ts";
export type { StreamTrace } from "./stream_meter.ts";
export { STREAM_CANCELLED, STREAM_DURATION_BUCKETS_SECONDS, STREAM_OK, streamOutcome, StreamSeries } from "./stream_metrics.ts";
export { ATTR, TracedCall } from "./traced_call.ts";
export { NOOP_SPAN, PluginTracing } from "./plugin_tracing.ts";
export type { LoggerOptions } from "./logger.ts";
export type { MetricSources, RouterMetrics, RouterMetricsOptions } from "./metrics.ts";
export type { RouterTelemetryOptions } from "./router_telemetry.ts";
export type { CallTarget, RetryRefusal } from "./traced_call.ts";
export type { HandlerTrace, PluginIdentity } from "./plugin_tracing.ts";
export { isSecretName, REDACTED, redactArgs, redactJson, redactUrl } from "./redact.ts";
// The span ring (router only) is in ./ring.ts, so plugin processes do not load it.
export type { SpanRing, TraceSummary } from "./span_ring.ts";
export type { TreeRow } from "./trace_tree.ts";
export type { SpanEvent, SpanKindName, SpanRecord, SpanStatusName, SpanValue } from "./span_record.ts";
