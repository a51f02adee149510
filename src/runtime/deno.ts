import type { FetchHandler, RunningServer, RuntimeAdapter, ServeOptions } from "./types.ts";
import { startConnectionGuard, throughGuard } from "./connection_guard.ts";
import type { ConnectionGuard } from "./connection_guard.ts";

declare const Deno: {
  serve(
    options: { port: number; hostname: string; onListen?: (addr: { port: number }) => void },
    handler: (req: Request, info: { remoteAddr: { port?: number } }) => Response | Promise<Response>,
  ): { addr: { port: number }; shutdown(): Promise<void>; finished: Promise<void> };
};

/**
 * Serves with `Deno.serve`. With limits or TLS (the router always passes limits), `Deno.serve`
 * listens on a loopback port behind the connection guard, which adds what it lacks: a header
 * timeout, an idle timeout, a connection cap and client certificates.
 */
export const denoAdapter: RuntimeAdapter = {
  name: "deno",
  async serve(fetch: FetchHandler, options: ServeOptions): Promise<RunningServer> {
    if (options.limits === undefined && options.tls === undefined) {
      return await new Promise((resolve) => {
        const server = Deno.serve({
          port: options.port,
          hostname: options.hostname,
          onListen: (addr) => resolve({ port: addr.port, close: () => server.shutdown() }),
        }, fetch as unknown as (req: Request) => Response);
      });
    }
    let guard: ConnectionGuard | undefined;
    const backend = await new Promise<{ port: number; shutdown(): Promise<void> }>((resolve) => {
      const server = Deno.serve({
        port: 0,
        hostname: "127.0.0.1",
        onListen: (addr) => resolve({ port: addr.port, shutdown: () => server.shutdown() }),
      }, (req, info) => throughGuard(guard?.connection(info.remoteAddr.port), fetch, req));
    });
    guard = await startConnectionGuard({ ...options, limits: options.limits ?? DEFAULT_GUARD_LIMITS, backendPort: backend.port });
    const started = guard;
    return {
      port: started.port,
      close: async () => {
        await started.close();
        await backend.shutdown();
      },
    };
  },
};

const DEFAULT_GUARD_LIMITS = { headerTimeoutMs: 10_000, idleTimeoutMs: 30_000, requestTimeoutMs: 30_000, maxConnections: 10_000 };
