import type { FetchHandler, RunningServer, ServeOptions, ServerLimits } from "./types.ts";
import { closeGuarded, GUARD_LOOPBACK, startConnectionGuard } from "./connection_guard.ts";
import type { ConnectionGuard } from "./connection_guard.ts";
import { throughGuard } from "./guarded_connection.ts";
import type { BunApi, BunServer } from "./bun_api.ts";
import { bunPathRoutes } from "./bun_routes.ts";
import { createEdgeRefusals } from "./edge_errors.ts";

const DEFAULT_GRACE_MS = 2_000;

declare const Bun: BunApi;

/**
 * `Bun.serve` on a loopback port behind the connection guard: Bun has no connection cap and no way
 * to read a client certificate, closes trickling headers only after a fixed ~10 s, and its one
 * `idleTimeout` (at most 255 s) would cut plugin calls longer than itself. The guard enforces the
 * header and idle timeouts instead, so Bun's own is off.
 */
export async function serveBunGuarded(fetch: FetchHandler, options: ServeOptions & { limits: ServerLimits }): Promise<RunningServer> {
  let guard: ConnectionGuard | undefined = undefined;
  const refuse = createEdgeRefusals();
  // Refused paths go through the guard too, so their connection stops forwarding like any early answer.
  const { routes, fetch: others } = bunPathRoutes<BunServer>((req, server, refusal) => {
    const ip = server.requestIP(req);
    const serve: FetchHandler = refusal === undefined ? fetch : () => refuse(refusal.code, refusal.message, req.headers.get("x-request-id"));
    return throughGuard(guard?.connection(ip?.address, ip?.port), serve, req, refuse);
  });
  const backend = Bun.serve({
    port: 0,
    hostname: GUARD_LOOPBACK,
    idleTimeout: 0,
    maxRequestBodySize: Number.MAX_SAFE_INTEGER, // the router's JSON 413 instead of Bun's empty one
    routes,
    fetch: others,
    error: () => new Response('{"error":{"code":"internal","message":"Internal error"}}', { status: 500 }),
  });
  guard = await startConnectionGuard({ ...options, backendPort: backend.port });
  const started = guard;
  return {
    port: started.port,
    close: (closeOptions = {}) => closeGuarded(started, () => backend.stop(false), closeOptions.graceMs ?? DEFAULT_GRACE_MS),
  };
}
