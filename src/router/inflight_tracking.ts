import type { Context } from "hono";
import type { Logger } from "../deps.ts";
import { ErrorCode, SwitchyardError } from "../errors.ts";
import type { RouterLifecycle } from "./router_lifecycle.ts";
import type { PeerInfo, RouterAuth } from "../auth/mod.ts";
import { errorResponse } from "./error_response.ts";
import { pluginNotFound } from "../pipeline/mod.ts";

/**
 * Wraps the invoke handler so every request to a registered plugin is counted while it runs, and a
 * drained plugin answers 503 `draining` without being called. Unregistered names pass straight
 * through (they end in 404), so they cannot grow the tracker. With `auth`, a drained plugin's 503
 * goes only to callers who authenticate and may see the plugin: anyone else gets the 401 or 404 a
 * running plugin would give them, so a plugin's state tells an outsider nothing.
 */
export function trackInflight(
  lifecycle: RouterLifecycle,
  handler: (c: Context) => Promise<Response>,
  requestId: (incoming: string | null) => string,
  logger: Logger,
  auth?: RouterAuth,
): (c: Context) => Promise<Response> {
  const tracker = lifecycle.tracker;
  return async function tracked(c: Context): Promise<Response> {
    const traffic = tracker.traffic(c.req.param("plugin") ?? "");
    if (traffic === undefined) return handler(c);
    if (traffic.draining) {
      let err = new SwitchyardError(ErrorCode.Draining, `Plugin "${traffic.name}" is draining`, {
        retryAfter: 1,
      });
      if (auth !== undefined) {
        try {
          const found = auth.authenticate(c.req.raw, c.env as PeerInfo | undefined);
          const who = found instanceof Promise ? await found : found;
          if (!auth.maySee(who, traffic.name)) err = pluginNotFound(traffic.name);
        } catch (refused) {
          return errorResponse(refused, requestId(c.req.header("x-request-id") ?? null), logger);
        }
      }
      return errorResponse(err, requestId(c.req.header("x-request-id") ?? null), logger);
    }
    tracker.enter(traffic);
    try {
      return await handler(c);
    } finally {
      tracker.leave(traffic);
    }
  };
}
