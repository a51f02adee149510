import { initHeadersResponse } from "./types.ts";
import type { FetchHandler, RunningServer, RuntimeAdapter, ServeOptions } from "./types.ts";
import { serveBunGuarded } from "./bun_guarded.ts";
import { DEFAULT_SERVER_LIMITS } from "./connection_guard.ts";

declare const Bun: {
  serve(options: { port: number; hostname: string; fetch: FetchHandler; error?: (err: Error) => Response }): {
    port: number;
    stop(closeActiveConnections?: boolean): Promise<void>;
  };
};

const DEFAULT_GRACE_MS = 2_000;

/** Serves with `Bun.serve`; with limits or TLS (the router always passes limits), behind the connection guard. */
export const bunAdapter: RuntimeAdapter = {
  name: "bun",
  respond: initHeadersResponse,
  serve(fetch: FetchHandler, options: ServeOptions): Promise<RunningServer> {
    if (options.limits !== undefined || options.tls !== undefined) return serveBunGuarded(fetch, { ...options, limits: options.limits ?? DEFAULT_SERVER_LIMITS });
    const server = Bun.serve({
      port: options.port,
      hostname: options.hostname,
      fetch,
      error: () => new Response('{"error":{"code":"internal","message":"Internal error"}}', { status: 500 }),
    });
    return Promise.resolve({
      port: server.port,
      // stop(false) closes idle keep-alive connections at once and the others after their response.
      close: async (closeOptions = {}) => {
        let timer: ReturnType<typeof setTimeout> | undefined;
        const cut = new Promise<void>((resolve) => {
          timer = setTimeout(() => resolve(server.stop(true)), closeOptions.graceMs ?? DEFAULT_GRACE_MS);
        });
        await Promise.race([server.stop(false), cut]);
        clearTimeout(timer);
      },
    });
  },
};
