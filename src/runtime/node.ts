import { serve } from "@hono/node-server";
import { initHeadersResponse } from "./types.ts";
import type { FetchHandler, RunningServer, RuntimeAdapter, ServeOptions } from "./types.ts";

/** Serves with node:http through `@hono/node-server`. */
export const nodeAdapter: RuntimeAdapter = {
  name: "node",
  respond: initHeadersResponse,
  serve(fetch: FetchHandler, options: ServeOptions): Promise<RunningServer> {
    return new Promise((resolve, reject) => {
      const server = serve({ fetch, port: options.port, hostname: options.hostname }, (info) => {
        resolve({
          port: info.port,
          close: () =>
            new Promise<void>((done) => {
              server.close(() => done());
              if ("closeIdleConnections" in server) server.closeIdleConnections();
            }),
        });
      });
      server.once("error", reject);
    });
  },
};
