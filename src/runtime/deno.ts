import type { FetchHandler, PeerInfo, ResponseFactory, RunningServer, RuntimeAdapter, ServeOptions } from "./types.ts";
import { serveDenoGuarded } from "./deno_guarded.ts";
import { DEFAULT_SERVER_LIMITS } from "./connection_guard.ts";
import { createEdgeRefusals } from "./edge_errors.ts";
import type { EdgeRefusal } from "./edge_errors.ts";
import { checkRequestTargets } from "./request_target.ts";
import { closesAfterAnswer } from "./early_close.ts";
import { ErrorCode } from "../errors.ts";

/** Deno fills init headers through WebIDL record conversion; `set()` on a fresh response is cheaper. */
const respond: ResponseFactory = (body, headers) => {
  const res = new Response(body as Uint8Array<ArrayBuffer>, { status: 200 });
  const h = res.headers;
  for (const name in headers) h.set(name, headers[name]!);
  return res;
};

declare const Deno: {
  serve(
    options: { port: number; hostname: string; onListen?: (addr: { port: number }) => void },
    handler: FetchHandler,
  ): { addr: { port: number }; shutdown(): Promise<void>; finished: Promise<void> };
};

const DEFAULT_GRACE_MS = 2_000;

/**
 * `fetch` behind the request-target check (Deno's `request.url` is the target as sent: Deno does
 * not resolve dot segments). Deno also serves a request without `Host`, and does not tell HTTP/1.0
 * (where that is allowed) from 1.1: such a request is refused here.
 */
function checkedPaths(fetch: FetchHandler, refuse: EdgeRefusal): FetchHandler {
  return checkRequestTargets<PeerInfo>((req, peer) => {
    if (!req.headers.has("host")) return refuse(ErrorCode.InvalidRequest, "The Host header is required", req.headers.get("x-request-id"));
    return fetch(req, peer);
  }, refuse);
}

/** Adds `Connection: close` to an error answered before the body was read (Deno.serve alone still reads the rest). */
function closingEarly(fetch: FetchHandler): FetchHandler {
  return (req, peer) => {
    const out = fetch(req, peer);
    if (out instanceof Promise) return out.then((res) => (closesAfterAnswer(req, res), res));
    closesAfterAnswer(req, out);
    return out;
  };
}

/**
 * Serves with `Deno.serve`; with limits or TLS (the router always passes limits), behind the
 * connection guard, unless `connectionGuard` is `off` (Deno.serve then enforces no timeouts).
 */
export const denoAdapter: RuntimeAdapter = {
  name: "deno",
  respond,
  serve(fetch: FetchHandler, options: ServeOptions): Promise<RunningServer> {
    const refuse = createEdgeRefusals();
    const checked = checkedPaths(fetch, refuse);
    if (options.connectionGuard !== "off" && (options.limits !== undefined || options.tls !== undefined)) {
      return serveDenoGuarded(checked, { ...options, limits: options.limits ?? DEFAULT_SERVER_LIMITS }, refuse);
    }
    if (options.tls !== undefined) throw new TypeError("router.tls needs the connection guard on Deno: set router.connectionGuard to \"auto\" or \"on\"");
    return new Promise((resolve) => {
      const server = Deno.serve({
        port: options.port,
        hostname: options.hostname,
        onListen: (addr) =>
          resolve({
            port: addr.port,
            // shutdown() closes idle keep-alive connections at once and waits for running responses;
            // Deno has no way to cut those, so past the grace the caller goes on (and exits).
            close: async (closeOptions = {}) => {
              let timer: ReturnType<typeof setTimeout> | undefined;
              const grace = new Promise<void>((done) => timer = setTimeout(done, closeOptions.graceMs ?? DEFAULT_GRACE_MS));
              await Promise.race([server.shutdown(), grace]);
              clearTimeout(timer);
            },
          }),
      }, closingEarly(checked));
    });
  },
};
