import { Hono } from "hono";
import type { Context } from "hono";
import type { Deps } from "../deps.ts";
import { defaultDeps } from "../deps.ts";
import { ErrorCode, SwitchyardError } from "../errors.ts";
import type { RequestMux } from "../bus/mod.ts";
import type { Registry } from "../registry/mod.ts";
import type { ResolvedConfig } from "../config/mod.ts";
import { createInvokeHandler } from "./invoke.ts";
import { ResiliencePolicies } from "../resilience/mod.ts";
import { describePlugin } from "./catalog.ts";
import { serveCatalog } from "./catalog_routes.ts";
import { LoadBalancer, VersionRules } from "../balancing/mod.ts";
import { errorResponse } from "./error_response.ts";
import { createRequestIds } from "./request_id.ts";
import type { ResponseFactory } from "../runtime/types.ts";
import { RouterLifecycle } from "../lifecycle/mod.ts";
import { createAdminRoutes } from "./admin.ts";
import { trackInflight } from "./inflight_tracking.ts";
import { routerTelemetry } from "./router_telemetry.ts";
import type { RouterTelemetryConfig } from "./router_telemetry.ts";
import type { RouterAuth } from "../auth/mod.ts";
import { authFirst, guardRoutes } from "./auth_routes.ts";

/** Why the router is not ready, or `undefined` when it is. */
export type ReadinessCheck = () => string | undefined;

/** Options of {@linkcode createRouter}. */
export interface RouterOptions {
  registry: Registry;
  mux: RequestMux;
  config: ResolvedConfig;
  /** Drives `GET /health`. @default always ready */
  readiness?: ReadinessCheck;
  deps?: Partial<Deps>;
  /** Rate limit, breaker, bulkhead and retry per plugin. @default built from `config` */
  policies?: ResiliencePolicies;
  /** Uniform in [0, 1): drives canary splits and random balancer choices. @default Math.random */
  random?: () => number;
  /** Exposes the balancer, e.g. to read per-instance counters. @default one built from `config` */
  balancer?: LoadBalancer;
  /** Builds the 200 responses; the CLI passes its runtime adapter's. @default headers in the init */
  respond?: ResponseFactory;
  /** Version rules, given to swap them on a config reload. @default built from `config` */
  versions?: VersionRules;
  /** In-flight tracking, plugin drains, the shutdown gate (src/lifecycle/). @default one over `mux` */
  lifecycle?: RouterLifecycle;
  /** Metrics (`GET /metrics`) and tracing. @default metrics per `config.metrics`, no tracing */
  telemetry?: RouterTelemetryConfig;
  /** Authentication and grants (`RouterAuth.create(config.auth)`); required when `config.auth` is set. */
  auth?: RouterAuth;
}

const JSON_HEADERS = { "content-type": "application/json" };
/** `/v1/<plugin>/<method>`: the shape of the invoke route. */
const PLUGIN_ROUTE = /^\/v1\/[^/]+\/[^/]+\/?$/;

/** The router as a Hono app: serve it with any runtime adapter, or test it with `app.request()`. */
export function createRouter(options: RouterOptions): Hono {
  const { logger, clock } = defaultDeps(options.deps);
  const policies = options.policies ?? new ResiliencePolicies(options.config, { clock, logger });
  // In-flight count and drain state (src/lifecycle/), then breaker and bulkhead state.
  const resilience = (name: string) => ({ ...lifecycle.describe(name), resilience: policies.peek(name)?.describe() ?? {} });
  const random = options.random ?? Math.random;
  const balancer = options.balancer ??
    new LoadBalancer({ mux: options.mux, balancing: options.config.balancing, plugins: options.config.plugins, clock, logger, random });
  const versions = options.versions ?? new VersionRules(options.config.plugins, random);
  const lifecycle = options.lifecycle ?? new RouterLifecycle({
    known: (name) => options.registry.get(name) !== undefined,
    requests: options.mux,
    drainTimeoutMs: () => options.config.router.drainTimeoutMs,
    clock,
    logger,
  });
  const catalog = (name: string) => ({ registry: options.registry, now: clock.now(), balancer: balancer.balancerFor(name).name });
  const requestId = createRequestIds();
  const readiness = options.readiness ?? (() => undefined);
  const app = new Hono();
  if (options.config.auth !== undefined && options.auth === undefined) {
    throw new TypeError("config.auth is set but no RouterAuth was given: build one with RouterAuth.create(config.auth)");
  }
  const auth = options.auth;
  const principalOf = auth === undefined ? () => undefined : guardRoutes(app, auth, { logger, requestId });
  const telemetry = routerTelemetry(app, { ...options, policies, logger, clock, requestId });

  app.get("/health", () => {
    const problem = readiness();
    return problem === undefined
      ? new Response('{"status":"ok"}', { status: 200, headers: JSON_HEADERS })
      : new Response(JSON.stringify({ status: "unavailable", reason: problem }), { status: 503, headers: JSON_HEADERS });
  });
  serveCatalog(app, {
    registry: options.registry,
    config: options.config,
    describe: (p) => ({ ...describePlugin(p, catalog(p.name)), ...resilience(p.name) }),
    auth,
    principalOf,
    requestId,
    logger,
  });
  app.post("/v1/:plugin/:method", trackInflight(lifecycle, createInvokeHandler({ ...options, logger, requestId, policies, clock, balancer, versions, telemetry }), requestId, logger, auth));
  app.route("/admin", createAdminRoutes({ lifecycle, settings: () => options.config.admin, requestId, logger }));
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
