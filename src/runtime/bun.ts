import type { FetchHandler, RunningServer, RuntimeAdapter, ServeOptions } from "./types.ts";
import { startConnectionGuard, throughGuard } from "./connection_guard.ts";
import type { ConnectionGuard } from "./connection_guard.ts";

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

const INTERNAL_ERROR = () => new Response('{"error":{"code":"internal","message":"Internal error"}}', { status: 500 });

/**
 * Serves with `Bun.serve`. With limits or TLS (the router always passes limits), `Bun.serve`
 * listens on a loopback port behind the connection guard: Bun has no connection cap and no way to
 * read a client certificate, and its one `idleTimeout` (at most 255 s) would cut long requests.
 * The guard enforces the header and idle timeouts instead, so Bun's own is off there.
 */
export const bunAdapter: RuntimeAdapter = {
  name: "bun",
  async serve(fetch: FetchHandler, options: ServeOptions): Promise<RunningServer> {
    if (options.limits === undefined && options.tls === undefined) {
      // Bun passes the server as the second argument; the router reads no peer from it.
      const server = Bun.serve({ port: options.port, hostname: options.hostname, fetch: fetch as unknown as (req: Request) => Response, error: INTERNAL_ERROR });
      return { port: server.port, close: () => server.stop(false) };
    }
    let guard: ConnectionGuard | undefined;
    const backend = Bun.serve({
      port: 0,
      hostname: "127.0.0.1",
      idleTimeout: 0,
      fetch: (req, server) => throughGuard(guard?.connection(server.requestIP(req)?.port), fetch, req),
      error: INTERNAL_ERROR,
    });
    guard = await startConnectionGuard({ ...options, limits: options.limits ?? DEFAULT_GUARD_LIMITS, backendPort: backend.port });
    const started = guard;
    return {
      port: started.port,
      close: async () => {
        await started.close();
        await backend.stop(false);
      },
    };
  },
};

const DEFAULT_GUARD_LIMITS = { headerTimeoutMs: 10_000, idleTimeoutMs: 30_000, requestTimeoutMs: 30_000, maxConnections: 10_000 };
