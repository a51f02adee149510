/**
 * The HTTP router: a Hono app that turns `POST /v1/<plugin>/<method>` into NATS request/reply.
 * @module
 */
export { createRouter } from "./create_router.ts";
export { isJsonType, readBody } from "./read_body.ts";
export { ROUTER_RESTART_PATHS, routerConfigConsumer } from "./reconfigure.ts";
export { createAdminRoutes } from "./admin.ts";
export type { ReadinessCheck, RouterOptions } from "./create_router.ts";
export type { ReconfigurableRouter } from "./reconfigure.ts";
export type { AdminRoutesOptions } from "./admin.ts";
export { metricSources } from "./router_telemetry.ts";
export type { RouterTelemetryConfig } from "./router_telemetry.ts";
