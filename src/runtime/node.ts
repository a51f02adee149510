import { serve } from "@hono/node-server";
import { initHeadersResponse } from "./types.ts";
import type { FetchHandler, RunningServer, RuntimeAdapter, ServeOptions } from "./types.ts";
import { applyNodeLimits, nodeServeOptions } from "./node_limits.ts";

const DEFAULT_GRACE_MS = 2_000;

/** Serves with node:http (node:https with TLS) through `@hono/node-server`; node:http enforces the limits itself. */
export const nodeAdapter: RuntimeAdapter = {
  name: "node",
  respond: initHeadersResponse,
  serve(fetch: FetchHandler, options: ServeOptions): Promise<RunningServer> {
    return new Promise((resolve, reject) => {
      const server = serve({ ...nodeServeOptions(fetch, options.tls), port: options.port, hostname: options.hostname }, (info) => {
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
      if (options.limits !== undefined) applyNodeLimits(server, options.limits);
      server.once("error", reject);
    });
  },
};
