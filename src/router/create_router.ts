import { Hono } from "hono";
import type { Context } from "hono";
import type { Deps } from "../deps.ts";
import { defaultDeps } from "../deps.ts";
import { ErrorCode, SwitchyardError } from "../errors.ts";
import type { RequestPipeline } from "../pipeline/mod.ts";
import { createInvokeHandler } from "./invoke.ts";
import { describePlugin } from "./catalog.ts";
import { serveCatalog } from "./catalog_routes.ts";
import { errorResponse } from "./error_response.ts";
import type { RouterAppSettings } from "./options.ts";
import { createRequestIds } from "../runtime/request_id.ts";
import type { ResponseFactory } from "../runtime/types.ts";
import { RouterLifecycle } from "./router_lifecycle.ts";
import { createAdminRoutes } from "./admin.ts";
import { trackInflight } from "./inflight_tracking.ts";
import { routerTelemetry } from "./router_telemetry.ts";
import type { RouterTelemetryConfig } from "./router_telemetry.ts";
import type { RouterAuth } from "../auth/mod.ts";
import { authFirst, guardRoutes } from "./auth_routes.ts";
import { serveDashboard } from "./dashboard_routes.ts";
import type { DashboardParts } from "./dashboard_routes.ts";

/** Why the router is not ready, or `undefined` when it is. */
export type ReadinessCheck = () => string | undefined;

/** Options of {@linkcode createRouter}. */
export interface RouterOptions {
  /** Where requests go: the registry, the policies, the balancers (src/pipeline/). */
  pipeline: RequestPipeline;
  /** The settings in force, read per request: a reload swaps the object this returns. */
  settings: () => RouterAppSettings;
  /** Drives `GET /health`. @default always ready */
  readiness?: ReadinessCheck;
  deps?: Partial<Deps>;
  /** Builds the 200 responses; the CLI passes its runtime adapter's. @default headers in the init */
  respond?: ResponseFactory;
  /** In-flight tracking, plugin drains, the shutdown gate. @default one over the pipeline's mux */
  lifecycle?: RouterLifecycle;
  /** Metrics (`GET /metrics`) and tracing. @default metrics per `settings().metrics`, no tracing */
  telemetry?: RouterTelemetryConfig;
  /** Authentication and grants (`RouterAuth.create(config.auth)`); required when `settings().auth` is set. */
  auth?: RouterAuth;
  /** `GET /dashboard`'s span ring, OTLP forwarding and reload action. @default no traces, no reload */
  dashboard?: DashboardParts;
}

const JSON_HEADERS = { "content-type": "application/json" };
/** `/v1/<plugin>/<method>`: the shape of the invoke route. */
const PLUGIN_ROUTE = /^\/v1\/[^/]+\/[^/]+\/?$/;

/** The router as a Hono app: serve it with any runtime adapter, or test it with `app.request()`. */
export function createRouter(options: RouterOptions): Hono {
  const { logger } = defaultDeps(options.deps);
  const { pipeline, settings } = options;
  const { registry, policies, clock } = pipeline;
  // In-flight count and drain state, then breaker and bulkhead state.
  const resilience = (name: string) => ({ ...lifecycle.describe(name), resilience: policies.peek(name)?.describe() ?? {} });
  const lifecycle = options.lifecycle ?? new RouterLifecycle({
    known: (name) => registry.get(name) !== undefined,
    requests: pipeline.mux,
    drainTimeoutMs: () => settings().router.drainTimeoutMs,
    clock,
    logger,
  });
  const catalog = (name: string) => ({ registry, now: clock.now(), balancer: pipeline.balancing.balancerFor(name).name });
  const requestId = createRequestIds();
  const readiness = options.readiness ?? (() => undefined);
  const app = new Hono();
  if (settings().auth !== undefined && options.auth === undefined) {
    throw new TypeError("config.auth is set but no RouterAuth was given: build one with RouterAuth.create(config.auth)");
  }
  const auth = options.auth;
  const principalOf = auth === undefined ? () => undefined : guardRoutes(app, auth, { logger, requestId });
  const telemetry = routerTelemetry(app, { settings, registry, policies, logger, clock, requestId, telemetry: options.telemetry, auth });

  app.get("/health", () => {
    const problem = readiness();
    return problem === undefined
      ? new Response('{"status":"ok"}', { status: 200, headers: JSON_HEADERS })
      : new Response(JSON.stringify({ status: "unavailable", reason: problem }), { status: 503, headers: JSON_HEADERS });
  });
  serveCatalog(app, {
    registry,
    settings,
    describe: (p) => ({ ...describePlugin(p, catalog(p.name)), ...resilience(p.name) }),
    auth,
    principalOf,
    requestId,
    logger,
  });
  const invoke = createInvokeHandler({
    pipeline,
    settings: () => settings().router,
    logger,
    requestId,
    telemetry,
    lifecycle,
    ...(options.respond === undefined ? {} : { respond: options.respond }),
    ...(auth === undefined ? {} : { auth }),
  });
  const observe = serveDashboard(app, { pipeline, lifecycle, settings, auth, requestId, logger, parts: options.dashboard });
  app.post("/v1/:plugin/:method", observe(trackInflight(lifecycle, invoke, requestId, logger, auth)));
  app.route("/admin", createAdminRoutes({ lifecycle, settings: () => settings().admin, requestId, logger }));
  // 405 for other methods on a plugin route is answered here rather than by an `app.all()` route:
  // a second route on the same path pushes Hono's SmartRouter off its RegExpRouter onto the
  // TrieRouter, which costs the hot POST route 3-10 µs per request.
  const notFound = (c: Context) => {
    const id = requestId(c.req.header("x-request-id") ?? null);
    if (c.req.method !== "POST" && PLUGIN_ROUTE.test(c.req.path)) {
      const err = new SwitchyardError(ErrorCode.MethodNotAllowed, `Use POST to call a plugin method (not ${c.req.method.slice(0, 16)})`);
      return errorResponse(err, id, logger, { allow: "POST" });
    }
    return errorResponse(new SwitchyardError(ErrorCode.NotFound, "No such route"), id, logger);
  };
  app.notFound(auth === undefined ? notFound : authFirst(auth, notFound, { logger, requestId }));
  app.onError((err, c) => errorResponse(err, requestId(c.req.header("x-request-id") ?? null), logger));
  return app;
}
