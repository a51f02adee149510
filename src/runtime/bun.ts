import type { FetchHandler, RunningServer, RuntimeAdapter, ServeOptions } from "./types.ts";
import { serveBunGuarded } from "./bun_guarded.ts";
import { DEFAULT_SERVER_LIMITS } from "./connection_guard.ts";

declare const Bun: {
  serve(options: { port: number; hostname: string; fetch: FetchHandler; error?: (err: Error) => Response }): {
    port: number;
    stop(closeActiveConnections?: boolean): Promise<void>;
  };
};

/** Serves with `Bun.serve`; with limits or TLS (the router always passes limits), behind the connection guard. */
export const bunAdapter: RuntimeAdapter = {
  name: "bun",
  serve(fetch: FetchHandler, options: ServeOptions): Promise<RunningServer> {
    if (options.limits !== undefined || options.tls !== undefined) return serveBunGuarded(fetch, { ...options, limits: options.limits ?? DEFAULT_SERVER_LIMITS });
    const server = Bun.serve({
      port: options.port,
      hostname: options.hostname,
      fetch,
      error: () => new Response('{"error":{"code":"internal","message":"Internal error"}}', { status: 500 }),
    });
    return Promise.resolve({ port: server.port, close: () => server.stop(false) });
  },
};
