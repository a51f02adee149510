/**
 * The part of Bun's global API the router uses (`Bun.serve`), typed once for the files that call it;
 * only they run on Bun.
 * @module
 */
import type { BunRouteRequest } from "./bun_routes.ts";

/** A server `Bun.serve` returned. */
export interface BunServer {
  port: number;
  stop(closeActiveConnections?: boolean): Promise<void>;
  requestIP(req: Request): { address: string; port: number } | null;
}

/** `Bun.serve`'s options, as the router sets them. */
export interface BunServeOptions {
  port: number;
  hostname: string;
  idleTimeout?: number;
  maxRequestBodySize?: number;
  routes: Record<string, (req: BunRouteRequest, server: BunServer) => Response | Promise<Response>>;
  fetch: (req: Request, server: BunServer) => Response | Promise<Response>;
  error?: (err: Error) => Response;
}

/** The global `Bun`, as far as the router uses it. */
export interface BunApi {
  serve(options: BunServeOptions): BunServer;
}
