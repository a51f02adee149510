import type { FetchHandler, PeerInfo, ResponseFactory, RunningServer, RuntimeAdapter, ServeOptions } from "./types.ts";
import { serveDenoGuard } from "./http1/deno_server.ts";
import { DEFAULT_SERVER_LIMITS } from "./guard_rules.ts";
import { RAW_BODY } from "./http1/response.ts";
import type { RawBodyResponse } from "./http1/response.ts";
import { createEdgeRefusals } from "./edge_errors.ts";
import type { EdgeRefusal } from "./edge_errors.ts";
import { checkRequestTargets } from "./request_target.ts";
import { closesAfterAnswer } from "./early_close.ts";
import { ErrorCode } from "../errors.ts";

/**
 * Deno fills init headers through WebIDL record conversion; `set()` on a fresh response is cheaper.
 * The body bytes ride along, so the guard writes them without reading the body stream.
 */
const respond: ResponseFactory = (body, headers) => {
  const res: RawBodyResponse = new Response(body as Uint8Array<ArrayBuffer>, { status: 200 });
  const h = res.headers;
  for (const name in headers) h.set(name, headers[name]!);
  res[RAW_BODY] = body;
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
 * Serves with the connection guard's own HTTP/1.1 server (`http1/deno_server.ts`: `Deno.listen`,
 * or `node:tls` for HTTPS) when given limits or TLS (the router always passes limits); with
 * `connectionGuard: "off"`, `Deno.serve` alone, which enforces no timeouts.
 */
export const denoAdapter: RuntimeAdapter = {
  name: "deno",
  respond,
  serve(fetch: FetchHandler, options: ServeOptions): Promise<RunningServer> {
    if (options.connectionGuard !== "off" && (options.limits !== undefined || options.tls !== undefined)) {
      // Every head is checked there (the target and Host included), so `fetch` goes unwrapped.
      return serveDenoGuard(fetch, { ...options, limits: options.limits ?? DEFAULT_SERVER_LIMITS });
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
      }, closingEarly(checkedPaths(fetch, createEdgeRefusals())));
    });
  },
};
