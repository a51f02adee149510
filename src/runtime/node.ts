import { createServer } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { Server } from "node:http";
import { initHeadersResponse } from "./types.ts";
import type { FetchHandler, RunningServer, RuntimeAdapter, ServeOptions, ServerTls } from "./types.ts";
import { applyNodeLimits } from "./node_limits.ts";
import { nodeRequestListener } from "./node_listener.ts";

const DEFAULT_GRACE_MS = 2_000;

/** node:https options serving `tls` (client certificates verified against `clientCa`). */
function tlsOptions(tls: ServerTls): Record<string, unknown> {
  return {
    cert: tls.cert,
    key: tls.key,
    ...(tls.clientCa === undefined ? {} : { ca: tls.clientCa, requestCert: true, rejectUnauthorized: tls.requireClientCert }),
  };
}

/** Serves with node:http (node:https with TLS) and `@hono/node-server`'s listener; node:http enforces the limits itself. */
export const nodeAdapter: RuntimeAdapter = {
  name: "node",
  respond: initHeadersResponse,
  serve(fetch: FetchHandler, options: ServeOptions): Promise<RunningServer> {
    return new Promise((resolve, reject) => {
      const listener = nodeRequestListener(fetch, options.tls, options.hostname);
      // A missing Host is answered by the listener, in JSON, instead of node:http's empty 400.
      const server: Server = options.tls === undefined
        ? createServer({ requireHostHeader: false }, listener)
        : createHttpsServer({ ...tlsOptions(options.tls), requireHostHeader: false }, listener);
      if (options.limits !== undefined) applyNodeLimits(server, options.limits);
      server.once("error", reject);
      server.listen(options.port, options.hostname, () => {
        const address = server.address();
        resolve({
          port: typeof address === "object" && address !== null ? address.port : options.port,
          close: (closeOptions = {}) =>
            new Promise<void>((done) => {
              // node:http keeps a keep-alive connection open after the response of a request that was
              // running at close(): sweep idle ones until all are gone, and cut the rest at the grace.
              const sweep = setInterval(() => server.closeIdleConnections(), 25);
              const cut = setTimeout(() => server.closeAllConnections(), closeOptions.graceMs ?? DEFAULT_GRACE_MS);
              server.close(() => {
                clearInterval(sweep);
                clearTimeout(cut);
                done();
              });
              server.closeIdleConnections();
            }),
        });
      });
    });
  },
};
