import { serve } from "@hono/node-server";
import { initHeadersResponse } from "./types.ts";
import type { FetchHandler, RunningServer, RuntimeAdapter, ServeOptions } from "./types.ts";

const DEFAULT_GRACE_MS = 2_000;

/** Serves with node:http through `@hono/node-server`. */
export const nodeAdapter: RuntimeAdapter = {
  name: "node",
  respond: initHeadersResponse,
  serve(fetch: FetchHandler, options: ServeOptions): Promise<RunningServer> {
    return new Promise((resolve, reject) => {
      const server = serve({ fetch, port: options.port, hostname: options.hostname }, (info) => {
        resolve({
          port: info.port,
          close: (closeOptions = {}) =>
            new Promise<void>((done) => {
              const http = server as typeof server & { closeIdleConnections?(): void; closeAllConnections?(): void };
              // node:http keeps a keep-alive connection open after the response of a request that was
              // running at close(): sweep idle ones until all are gone, and cut the rest at the grace.
              const sweep = setInterval(() => http.closeIdleConnections?.(), 25);
              const cut = setTimeout(() => http.closeAllConnections?.(), closeOptions.graceMs ?? DEFAULT_GRACE_MS);
              server.close(() => {
                clearInterval(sweep);
                clearTimeout(cut);
                done();
              });
              http.closeIdleConnections?.();
            }),
        });
      });
      server.once("error", reject);
    });
  },
};
