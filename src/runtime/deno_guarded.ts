import type { FetchHandler, RunningServer, ServeOptions, ServerLimits } from "./types.ts";
import { closeGuarded, GUARD_LOOPBACK, startConnectionGuard } from "./connection_guard.ts";
import type { ConnectionGuard } from "./connection_guard.ts";
import { throughGuard } from "./guarded_connection.ts";
import type { EdgeRefusal } from "./edge_errors.ts";

const DEFAULT_GRACE_MS = 2_000;

declare const Deno: {
  serve(
    options: { port: number; hostname: string; onListen?: (addr: { port: number }) => void },
    handler: (req: Request, info: { remoteAddr: { hostname?: string; port?: number } }) => Response | Promise<Response>,
  ): { addr: { port: number }; shutdown(): Promise<void>; finished: Promise<void> };
};

/**
 * `Deno.serve` on a loopback port behind the connection guard, which adds what it lacks: a header
 * timeout, an idle timeout, a connection cap, client certificates, and an end to reading an upload
 * once an early answer closes its connection. `fetch` is the path-checked handler.
 */
export async function serveDenoGuarded(
  fetch: FetchHandler,
  options: ServeOptions & { limits: ServerLimits },
  refuse: EdgeRefusal,
): Promise<RunningServer> {
  let guard: ConnectionGuard | undefined = undefined;
  const backend = await new Promise<{ port: number; shutdown(): Promise<void> }>((resolve) => {
    const server = Deno.serve({
      port: 0,
      hostname: GUARD_LOOPBACK,
      onListen: (addr) => resolve({ port: addr.port, shutdown: () => server.shutdown() }),
    }, (req, info) => throughGuard(guard?.connection(info.remoteAddr.hostname, info.remoteAddr.port), fetch, req, refuse));
  });
  guard = await startConnectionGuard({ ...options, backendPort: backend.port });
  const started = guard;
  return {
    port: started.port,
    close: (closeOptions = {}) => closeGuarded(started, () => backend.shutdown(), closeOptions.graceMs ?? DEFAULT_GRACE_MS),
  };
}
