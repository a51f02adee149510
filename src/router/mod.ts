/**
 * The HTTP router: a Hono app that turns `POST /v1/<plugin>/<method>` into NATS request/reply.
 * @module
 */
export { createRouter } from "./create_router.ts";
export { isJsonType, readBody } from "./read_body.ts";
export { createAdminRoutes } from "./admin.ts";
export type { ReadinessCheck, RouterOptions } from "./create_router.ts";
export type { MetricsSettings, RouterAppSettings, RouterSettings } from "./options.ts";
export type { AdminRoutesOptions } from "./admin.ts";
export { metricSources } from "./router_telemetry.ts";
export type { RouterTelemetryConfig } from "./router_telemetry.ts";
export { ABORT_GRACE_MS, DEFAULT_PROGRESS_INTERVAL_MS, RouterLifecycle } from "./router_lifecycle.ts";
export type { AbortableRequests, DrainProgress, DrainResult, PluginDrainOptions, RouterLifecycleOptions } from "./router_lifecycle.ts";
export { InflightTracker, PluginTraffic } from "./inflight.ts";
export { AdminSchema } from "./admin_options.ts";
export type { ResolvedAdminOptions } from "./admin_options.ts";
export {
  DEFAULT_BODY_LIMIT_BYTES,
  DEFAULT_DRAIN_TIMEOUT_MS,
  DEFAULT_HOST,
  DEFAULT_PORT,
  MetricsOptionsSchema,
  RouterOptionsSchema,
} from "./options.ts";
export { DEFAULT_TRACE_SPANS, TracesSchema } from "./dashboard_options.ts";
export type { ResolvedTracesOptions } from "./dashboard_options.ts";
export type { DashboardParts } from "./dashboard_routes.ts";
export type { ReloadAction, ReloadOutcome } from "./dashboard_actions.ts";
export { OTLP_TRACES_PATH } from "./dashboard_otlp.ts";
export type { OtlpForward } from "./dashboard_otlp.ts";
