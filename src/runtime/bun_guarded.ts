import type { FetchHandler, RunningServer, ServeOptions, ServerLimits } from "./types.ts";
import { closeGuarded, startConnectionGuard, throughGuard } from "./connection_guard.ts";
import type { ConnectionGuard } from "./connection_guard.ts";

const DEFAULT_GRACE_MS = 2_000;

interface BunServer {
  port: number;
  stop(closeActiveConnections?: boolean): Promise<void>;
  requestIP(req: Request): { port: number } | null;
}

declare const Bun: {
  serve(options: {
    port: number;
    hostname: string;
    idleTimeout?: number;
    fetch: (req: Request, server: BunServer) => Response | Promise<Response>;
    error?: (err: Error) => Response;
  }): BunServer;
};

/**
 * `Bun.serve` on a loopback port behind the connection guard: Bun has no connection cap and no way
 * to read a client certificate, closes trickling headers only after a fixed ~10 s, and its one
 * `idleTimeout` (at most 255 s) would cut plugin calls longer than itself. The guard enforces the
 * header and idle timeouts instead, so Bun's own is off.
 */
export async function serveBunGuarded(fetch: FetchHandler, options: ServeOptions & { limits: ServerLimits }): Promise<RunningServer> {
  let guard: ConnectionGuard | undefined = undefined;
  const backend = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    idleTimeout: 0,
    fetch: (req, server) => throughGuard(guard?.connection(server.requestIP(req)?.port), fetch, req),
    error: () => new Response('{"error":{"code":"internal","message":"Internal error"}}', { status: 500 }),
  });
  guard = await startConnectionGuard({ ...options, backendPort: backend.port });
  const started = guard;
  return {
    port: started.port,
    close: (closeOptions = {}) => closeGuarded(started, () => backend.stop(false), closeOptions.graceMs ?? DEFAULT_GRACE_MS),
  };
}
