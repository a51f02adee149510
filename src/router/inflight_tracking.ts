import type { Context } from "hono";
import type { Logger } from "../deps.ts";
import { ErrorCode, SwitchyardError } from "../errors.ts";
import type { RouterLifecycle } from "../lifecycle/mod.ts";
import { errorResponse } from "./error_response.ts";

/**
 * Wraps the invoke handler so every request to a registered plugin is counted while it runs, and a
 * drained plugin answers 503 `draining` without being called. Unregistered names pass straight
 * through (they end in 404), so they cannot grow the tracker.
 */
export function trackInflight(
  lifecycle: RouterLifecycle,
  handler: (c: Context) => Promise<Response>,
  requestId: (incoming: string | null) => string,
  logger: Logger,
): (c: Context) => Promise<Response> {
  const tracker = lifecycle.tracker;
  return async function tracked(c: Context): Promise<Response> {
    const traffic = tracker.traffic(c.req.param("plugin") ?? "");
    if (traffic === undefined) return handler(c);
    if (traffic.draining) {
      const err = new SwitchyardError(ErrorCode.Draining, `Plugin "${traffic.name}" is draining`, { retryAfter: 1 });
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
