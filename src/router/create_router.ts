import { Hono } from "hono";
import type { Deps } from "../deps.ts";
import { defaultDeps } from "../deps.ts";
import { ErrorCode, SwitchyardError } from "../errors.ts";
import type { RequestMux } from "../bus/mod.ts";
import type { Registry } from "../registry/mod.ts";
import type { ResolvedConfig } from "../config/mod.ts";
import { createInvokeHandler } from "./invoke.ts";
import { ResiliencePolicies } from "../resilience/mod.ts";
import { describePlugin } from "./catalog.ts";
import { buildOpenApi } from "./openapi.ts";
import { LoadBalancer, VersionRules } from "../balancing/mod.ts";
import { errorResponse } from "./error_response.ts";
import { createRequestIds } from "./request_id.ts";
import type { RouterAuth } from "../auth/mod.ts";
import { guardRoutes } from "./auth_routes.ts";

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
  /** Authentication and grants (`RouterAuth.create(config.auth)`); required when `config.auth` is set. */
  auth?: RouterAuth;
}

const JSON_HEADERS = { "content-type": "application/json" };

/** The router as a Hono app: serve it with any runtime adapter, or test it with `app.request()`. */
export function createRouter(options: RouterOptions): Hono {
  const { logger, clock } = defaultDeps(options.deps);
  const policies = options.policies ?? new ResiliencePolicies(options.config, { clock, logger });
  const resilience = (name: string) => ({ resilience: policies.peek(name)?.describe() ?? {} });
  const random = options.random ?? Math.random;
  const balancer = options.balancer ??
    new LoadBalancer({ mux: options.mux, balancing: options.config.balancing, plugins: options.config.plugins, clock, logger, random });
  const versions = new VersionRules(options.config.plugins, random);
  const catalog = (name: string) => ({ registry: options.registry, now: clock.now(), balancer: balancer.balancerFor(name).name });
  const requestId = createRequestIds();
  const readiness = options.readiness ?? (() => undefined);
  const app = new Hono();
  if (options.config.auth !== undefined && options.auth === undefined) {
    throw new TypeError("config.auth is set but no RouterAuth was given: build one with RouterAuth.create(config.auth)");
  }
  if (options.auth !== undefined) guardRoutes(app, options.auth, { logger, requestId });

  app.get("/health", () => {
    const problem = readiness();
    return problem === undefined
      ? new Response('{"status":"ok"}', { status: 200, headers: JSON_HEADERS })
      : new Response(JSON.stringify({ status: "unavailable", reason: problem }), { status: 503, headers: JSON_HEADERS });
  });
  app.get("/v1/plugins", (c) => c.json({ plugins: [...options.registry.plugins()].map((p) => ({ ...describePlugin(p, catalog(p.name)), ...resilience(p.name) })) }));
  app.get("/openapi.json", (c) => c.json(buildOpenApi(options.registry)));
  app.get("/v1/plugins/:name", (c) => {
    const plugin = options.registry.get(c.req.param("name"));
    if (plugin === undefined) {
      return errorResponse(new SwitchyardError(ErrorCode.PluginNotFound, "No such plugin"), requestId(null), logger);
    }
    return c.json({ ...describePlugin(plugin, catalog(plugin.name)), ...resilience(plugin.name) });
  });
  app.post("/v1/:plugin/:method", createInvokeHandler({ ...options, logger, requestId, policies, clock, balancer, versions }));
  app.all("/v1/:plugin/:method", (c) =>
    errorResponse(
      new SwitchyardError(ErrorCode.MethodNotAllowed, `Use POST to call a plugin method (not ${c.req.method.slice(0, 16)})`),
      requestId(c.req.header("x-request-id") ?? null),
      logger,
      { allow: "POST" },
    ));
  app.notFound((c) =>
    errorResponse(new SwitchyardError(ErrorCode.NotFound, "No such route"), requestId(c.req.header("x-request-id") ?? null), logger)
  );
  app.onError((err, c) => errorResponse(err, requestId(c.req.header("x-request-id") ?? null), logger));
  return app;
}
