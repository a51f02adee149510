import type { Context, Hono, MiddlewareHandler, NotFoundHandler } from "hono";
import type { Logger } from "../deps.ts";
import { ErrorCode, SwitchyardError } from "../errors.ts";
import type { Authenticated, PeerInfo, RouterAuth } from "../auth/mod.ts";
import { errorResponse } from "./error_response.ts";

/** Who a guard let through, for the route behind it; `undefined` without auth. */
export type PrincipalOf = (c: Context) => Authenticated | undefined;

interface GuardOptions {
  logger: Logger;
  requestId: (incoming: string | null) => string;
}

async function authenticate(auth: RouterAuth, c: Context): Promise<Authenticated> {
  const found = auth.authenticate(c.req.raw, c.env as PeerInfo | undefined);
  return found instanceof Promise ? await found : found;
}

/**
 * Puts the router's read-only routes (catalog, OpenAPI) behind authentication and every
 * `/admin/*` route behind an admin role, with one guard each. Registered before any route, so
 * admin routes added later are covered too. `GET /admin/whoami` shows the caller's principal.
 * @returns who the guards let through, for the catalog routes to show only what they may call.
 */
export function guardRoutes(app: Hono, auth: RouterAuth, options: GuardOptions): PrincipalOf {
  // Who each guard let through, for the routes behind it.
  const principals = new WeakMap<Request, Authenticated>();
  const guard = (admin: boolean): MiddlewareHandler =>
    async function authGuard(c, next) {
      try {
        const who = await authenticate(auth, c);
        if (admin) auth.requireAdmin(who);
        principals.set(c.req.raw, who);
      } catch (err) {
        return errorResponse(err, options.requestId(c.req.header("x-request-id") ?? null), options.logger);
      }
      await next();
    };
  app.use("/admin/*", guard(true));
  app.use("/v1/plugins", guard(false));
  app.use("/v1/plugins/*", guard(false));
  app.use("/openapi.json", guard(false));
  app.get("/admin/whoami", (c) => c.json({ principal: principals.get(c.req.raw)?.principal ?? null }));
  return (c) => principals.get(c.req.raw);
}

/**
 * The not-found handler behind authentication: with auth on, an unknown route (and a plugin route
 * called with the wrong method) answers 401 to a caller without credentials, as every route but
 * `/health` does, so probing paths tells an outsider nothing.
 */
export function authFirst(
  auth: RouterAuth,
  handler: NotFoundHandler,
  options: GuardOptions,
): NotFoundHandler {
  return async function authenticatedNotFound(c) {
    try {
      await authenticate(auth, c);
    } catch (err) {
      return errorResponse(err, options.requestId(c.req.header("x-request-id") ?? null), options.logger);
    }
    return handler(c);
  };
}

/** Options of {@linkcode metricsGuard}. */
export interface MetricsGuardOptions extends GuardOptions {
  /** Read per request, so a config reload applies: `metrics.token` and `metrics.roles`. */
  settings: () => { token?: string | undefined; roles: readonly string[] };
  auth: RouterAuth | undefined;
}

const encoder = new TextEncoder();

/**
 * Who may read `/metrics`: a request with `Authorization: Bearer <metrics.token>`, or, with auth
 * on, a principal with a role of `metrics.roles` or an admin role (403 for other principals, 401
 * without credentials). Without auth and without a token, everyone (the router warns at start).
 * @returns the error response, or `undefined` to serve the metrics.
 */
export async function metricsAccess(c: Context, options: MetricsGuardOptions): Promise<Response | undefined> {
  const { token, roles } = options.settings();
  const auth = options.auth;
  if (token === undefined && auth === undefined) return undefined;
  const fail = (err: unknown, extra?: Record<string, string>) =>
    errorResponse(err, options.requestId(c.req.header("x-request-id") ?? null), options.logger, extra);
  const authorization = c.req.header("authorization");
  if (token !== undefined && authorization !== undefined && sameSecret(authorization, `Bearer ${token}`)) {
    return undefined;
  }
  if (auth === undefined) {
    return fail(
      new SwitchyardError(ErrorCode.Unauthorized, "Metrics need Authorization: Bearer <metrics.token>"),
      {
        "www-authenticate": 'Bearer realm="switchyard-metrics"',
      },
    );
  }
  try {
    const who = await authenticate(auth, c);
    if (!auth.hasRoleOrAdmin(who, roles)) {
      throw new SwitchyardError(ErrorCode.Forbidden, `"${who.principal.id}" may not read metrics`);
    }
  } catch (err) {
    return fail(err);
  }
  return undefined;
}

/** Compares without leaking, through timing, how much of a secret matched. */
function sameSecret(given: string, expected: string): boolean {
  const a = encoder.encode(given);
  const b = encoder.encode(expected);
  let diff = a.length ^ b.length;
  for (let i = 0; i < b.length; i++) diff |= (a[i % Math.max(1, a.length)] ?? 0) ^ b[i]!;
  return diff === 0;
}
