import type { Context, Hono, MiddlewareHandler } from "hono";
import type { Logger } from "../deps.ts";
import type { Authenticated, PeerInfo, RouterAuth } from "../auth/mod.ts";
import { errorResponse } from "./error_response.ts";

async function authenticate(auth: RouterAuth, c: Context): Promise<Authenticated> {
  const found = auth.authenticate(c.req.raw, c.env as PeerInfo | undefined);
  return found instanceof Promise ? await found : found;
}

/**
 * Puts the router's read-only routes (catalog, OpenAPI) behind authentication and every
 * `/admin/*` route behind an admin role, with one guard each. Registered before any route, so
 * admin routes added later are covered too. `GET /admin/whoami` shows the caller's principal.
 */
export function guardRoutes(app: Hono, auth: RouterAuth, options: { logger: Logger; requestId: (incoming: string | null) => string }): void {
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
}
