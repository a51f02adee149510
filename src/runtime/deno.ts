import type { FetchHandler, RunningServer, RuntimeAdapter, ServeOptions } from "./types.ts";
import { serveDenoGuarded } from "./deno_guarded.ts";
import { DEFAULT_SERVER_LIMITS } from "./connection_guard.ts";

declare const Deno: {
  serve(
    options: { port: number; hostname: string; onListen?: (addr: { port: number }) => void },
    handler: FetchHandler,
  ): { addr: { port: number }; shutdown(): Promise<void>; finished: Promise<void> };
};

/** Serves with `Deno.serve`; with limits or TLS (the router always passes limits), behind the connection guard. */
export const denoAdapter: RuntimeAdapter = {
  name: "deno",
  serve(fetch: FetchHandler, options: ServeOptions): Promise<RunningServer> {
    if (options.limits !== undefined || options.tls !== undefined) return serveDenoGuarded(fetch, { ...options, limits: options.limits ?? DEFAULT_SERVER_LIMITS });
    return new Promise((resolve) => {
      const server = Deno.serve({
        port: options.port,
        hostname: options.hostname,
        onListen: (addr) => resolve({ port: addr.port, close: () => server.shutdown() }),
      }, fetch);
    });
  },
};
