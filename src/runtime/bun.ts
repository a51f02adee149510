import { initHeadersResponse } from "./types.ts";
import type { FetchHandler, RunningServer, RuntimeAdapter, ServeOptions, ServerLimits } from "./types.ts";
import { serveBunGuarded } from "./bun_guarded.ts";
import { DEFAULT_SERVER_LIMITS } from "./connection_guard.ts";
import type { BunApi } from "./bun_api.ts";
import { bunPathRoutes } from "./bun_routes.ts";
import { createEdgeRefusals } from "./edge_errors.ts";
import { closesAfterAnswer } from "./early_close.ts";

declare const Bun: BunApi;

const DEFAULT_GRACE_MS = 2_000;
/** Bun closes a connection whose headers trickle in after about this long, whatever else is set. */
export const BUN_NATIVE_HEADER_TIMEOUT_MS = 10_000;
/** Bun's `idleTimeout` is whole seconds, at most 255. */
const BUN_MAX_IDLE_S = 255;

/**
 * Adds `Connection: close` to an error answered before the body was read: without it Bun reads
 * and discards the whole upload to keep the connection; with it Bun closes at once and reads no
 * further. (Closing with the upload unread resets the connection, so a client still sending may
 * lose the answer; behind the guard it lingers and the answer gets through.)
 */
function closingEarly(req: Request, out: Response | Promise<Response>): Response | Promise<Response> {
  if (out instanceof Promise) return out.then((res) => (closesAfterAnswer(req, res), res));
  closesAfterAnswer(req, out);
  return out;
}

/** Whether Bun alone falls short of `options`: TLS (client certificates), a connection cap, a shorter header timeout. */
export function bunNeedsGuard(options: ServeOptions): boolean {
  const limits = options.limits;
  return options.tls !== undefined ||
    (limits !== undefined && (limits.maxConnections !== undefined || limits.headerTimeoutMs < BUN_NATIVE_HEADER_TIMEOUT_MS));
}

/** Bun's one `idleTimeout` also bounds a request waiting for its response: the longer of idle and request time. */
function idleTimeoutS(limits: ServerLimits | undefined): number | undefined {
  if (limits === undefined) return undefined;
  return Math.min(BUN_MAX_IDLE_S, Math.max(1, Math.ceil(Math.max(limits.idleTimeoutMs, limits.requestTimeoutMs) / 1000)));
}

/**
 * Serves with `Bun.serve`. Behind the connection guard when `connectionGuard` is `on`, or `auto`
 * and Bun alone cannot enforce the settings ({@linkcode bunNeedsGuard}); otherwise Bun's own
 * limits hold: its ~10 s header timeout, and `idleTimeout` from the idle and request timeouts.
 */
export const bunAdapter: RuntimeAdapter = {
  name: "bun",
  respond: initHeadersResponse,
  serve(fetch: FetchHandler, options: ServeOptions): Promise<RunningServer> {
    const mode = options.connectionGuard ?? "auto";
    if (mode === "on" || (mode === "auto" && bunNeedsGuard(options))) {
      return serveBunGuarded(fetch, { ...options, limits: options.limits ?? DEFAULT_SERVER_LIMITS });
    }
    const refuse = createEdgeRefusals();
    const { routes, fetch: others } = bunPathRoutes<unknown>((req, server, refusal) =>
      refusal === undefined ? closingEarly(req, fetch(req, server as never)) : refuse(refusal.code, refusal.message, req.headers.get("x-request-id"))
    );
    if (options.tls !== undefined) throw new TypeError("router.tls needs the connection guard on Bun: set router.connectionGuard to \"auto\" or \"on\"");
    const idleTimeout = idleTimeoutS(options.limits);
    const server = Bun.serve({
      port: options.port,
      hostname: options.hostname,
      ...(idleTimeout === undefined ? {} : { idleTimeout }),
      // The router refuses a body over its limit with a JSON 413, by its declared length before
      // reading it; Bun's own 413 past its default 128 MiB has no body. As on Node and Deno, which
      // have no cap of their own, every body the router reads goes through readBody's limit.
      maxRequestBodySize: Number.MAX_SAFE_INTEGER,
      routes,
      fetch: others,
      error: () => new Response('{"error":{"code":"internal","message":"Internal error"}}', { status: 500 }),
    });
    return Promise.resolve({
      port: server.port,
      // stop(false) closes idle keep-alive connections at once and the others after their response.
      close: async (closeOptions = {}) => {
        let timer: ReturnType<typeof setTimeout> | undefined;
        const cut = new Promise<void>((resolve) => {
          timer = setTimeout(() => resolve(server.stop(true)), closeOptions.graceMs ?? DEFAULT_GRACE_MS);
        });
        await Promise.race([server.stop(false), cut]);
        clearTimeout(timer);
      },
    });
  },
};
