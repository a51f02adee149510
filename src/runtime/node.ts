import { serve } from "@hono/node-server";
import type { IncomingMessage, Server } from "node:http";
import type { FetchHandler, RunningServer, RuntimeAdapter, ServeOptions } from "./types.ts";
import { applyNodeLimits, nodePeerReader, nodeTlsServerOptions } from "./node_limits.ts";

/** Serves with node:http (node:https with TLS) through `@hono/node-server`; node:http enforces the limits itself. */
export const nodeAdapter: RuntimeAdapter = {
  name: "node",
  serve(fetch: FetchHandler, options: ServeOptions): Promise<RunningServer> {
    const tls = options.tls;
    // Only mTLS needs the connection: without it, the handler is the router's fetch as it is.
    const readPeer = tls?.clientCa === undefined ? undefined : nodePeerReader();
    const handler = readPeer === undefined
      ? fetch
      : (req: Request, env?: unknown) => fetch(req, readPeer((env as { incoming: IncomingMessage }).incoming));
    return new Promise((resolve, reject) => {
      const server = serve({
        fetch: handler as unknown as (req: Request) => Response,
        port: options.port,
        hostname: options.hostname,
        ...(tls === undefined ? {} : nodeTlsServerOptions(tls)),
      }, (info) => {
        resolve({
          port: info.port,
          close: () =>
            new Promise<void>((done) => {
              server.close(() => done());
              if ("closeIdleConnections" in server) server.closeIdleConnections();
            }),
        });
      });
      if (options.limits !== undefined) applyNodeLimits(server as Server, options.limits);
      server.once("error", reject);
    });
  },
};
