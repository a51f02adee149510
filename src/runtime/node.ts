import { serve } from "@hono/node-server";
import type { FetchHandler, RunningServer, RuntimeAdapter, ServeOptions } from "./types.ts";
import { applyNodeLimits, nodeServeOptions } from "./node_limits.ts";

/** Serves with node:http (node:https with TLS) through `@hono/node-server`; node:http enforces the limits itself. */
export const nodeAdapter: RuntimeAdapter = {
  name: "node",
  serve(fetch: FetchHandler, options: ServeOptions): Promise<RunningServer> {
    return new Promise((resolve, reject) => {
      const server = serve({ ...nodeServeOptions(fetch, options.tls), port: options.port, hostname: options.hostname }, (info) => {
        resolve({
          port: info.port,
          close: () =>
            new Promise<void>((done) => {
              server.close(() => done());
              if ("closeIdleConnections" in server) server.closeIdleConnections();
            }),
        });
      });
      if (options.limits !== undefined) applyNodeLimits(server, options.limits);
      server.once("error", reject);
    });
  },
};
