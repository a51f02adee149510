/**
 * Serves a fetch handler with the runtime's native HTTP server: Deno.serve, Bun.serve, or
 * @hono/node-server on Node. The runtime is detected once, here.
 * @module
 */

type FetchHandler = (req: Request) => Response | Promise<Response>;
type RuntimeName = "deno" | "bun" | "node";

declare const Deno: {
  serve(
    options: { port: number; hostname: string; onListen?: (addr: { port: number }) => void },
    handler: FetchHandler,
  ): unknown;
} | undefined;
declare const Bun: {
  serve(options: { port: number; hostname: string; fetch: FetchHandler }): { port: number };
} | undefined;

/** The runtime executing this process. */
export const RUNTIME: RuntimeName = typeof Deno !== "undefined"
  ? "deno"
  : typeof Bun !== "undefined"
  ? "bun"
  : "node";

/** Starts listening on 127.0.0.1:`port`; resolves with the bound port once the server accepts. */
export async function serveNative(fetch: FetchHandler, port: number): Promise<number> {
  const hostname = "127.0.0.1";
  if (RUNTIME === "deno" && Deno !== undefined) {
    return await new Promise<number>((resolve) => {
      Deno.serve({ port, hostname, onListen: (addr) => resolve(addr.port) }, (req) => fetch(req));
    });
  }
  if (RUNTIME === "bun" && Bun !== undefined) {
    return Bun.serve({ port, hostname, fetch: (req) => fetch(req) }).port;
  }
  const { serve } = await import("@hono/node-server");
  return await new Promise<number>((resolve) => {
    serve({ fetch, port, hostname }, (info) => resolve(info.port));
  });
}
