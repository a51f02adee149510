import { codeOf, ErrorCode, SwitchyardError } from "../errors.ts";
import type { Logger } from "../deps.ts";
import { wireErrorOf } from "../bus/mod.ts";
import type { StreamCall } from "../pipeline/mod.ts";
import type { ActiveStreams } from "./active_streams.ts";

/** Chunks of a reply pulled and not yet written, pulls outstanding included: one being written, one on its way. */
export const BODY_WINDOW = 2;

/** Options of {@linkcode bodyResponse}. */
export interface BodyResponseOptions {
  requestId: string;
  plugin: string;
  /** The whole size the plugin announced (`sy-bytes`), checked against the router's limit. */
  total: number;
  /** The response headers besides the content type and length (`x-request-id`, `x-plugin-version`, …). */
  headers: Readonly<Record<string, string>>;
  /** A client that takes no chunk for this long is cut off. */
  idleMs: number;
  /** Where a drain reaches the response. */
  streams: ActiveStreams;
  logger: Logger;
  /** Called once, when the body is over: its last byte handed to the runtime, cut off, or the client gone. */
  onEnd: (code: string) => void;
}

/**
 * A unary reply that comes in chunks, answered over HTTP as it comes: `content-length` is the size
 * the plugin announced, and each chunk is pulled from the plugin's session only when the runtime
 * asks for more of the body (the stream's `pull()`, with no queue of its own), so the router holds a
 * chunk or two whatever the size, and a client that reads slowly slows the pulls down. The status
 * and headers are out before the rest arrives: a failure after them (the instance died, a timeout, a
 * drain, chunks that do not add up) cuts the body short, which the client sees as a truncated body
 * or a connection error; it is logged at `warn`.
 */
export function bodyResponse(call: StreamCall, options: BodyResponseOptions): Response {
  const { total, idleMs, requestId, plugin, logger } = options;
  let controller!: ReadableStreamDefaultController<Uint8Array>;
  let written = call.first.data.length;
  let ended = false;
  let idle: ReturnType<typeof setTimeout> | undefined;

  const end = (code: string) => {
    if (ended) return false;
    ended = true;
    clearTimeout(idle);
    remove();
    options.onEnd(code);
    return true;
  };
  const cut = (err: unknown) => {
    const code = codeOf(err);
    if (!end(code)) return;
    if (!call.done) call.cancel(err instanceof Error ? err.message : "the reply failed");
    logger.warn("reply body cut off", {
      plugin,
      requestId,
      code,
      written,
      total,
      error: err instanceof Error ? err.message : String(err),
    });
    controller.error(err);
  };
  const waitForClient = () => {
    idle = setTimeout(
      () =>
        cut(new SwitchyardError(ErrorCode.Timeout, `The client took no part of the reply for ${idleMs} ms`)),
      idleMs,
    );
  };
  const remove = options.streams.add(plugin, (error) => cut(error));

  const body = new ReadableStream<Uint8Array>({
    start(c) {
      controller = c;
      if (call.first.data.length > 0) c.enqueue(call.first.data);
      waitForClient();
    },
    async pull(c) {
      clearTimeout(idle);
      try {
        const next = await call.next();
        if (ended) return;
        if (next !== undefined && next.status !== 0) {
          const failure = wireErrorOf(next);
          throw new SwitchyardError(failure.code, failure.message || "The plugin failed", {
            status: failure.status,
          });
        }
        const size = next?.data.length ?? 0;
        if (written + size > total) {
          throw new SwitchyardError(
            ErrorCode.BadPluginResponse,
            "The plugin's reply is larger than it announced",
          );
        }
        written += size;
        if (size > 0) c.enqueue(next!.data);
        if (!call.done) return waitForClient();
        if (written !== total) {
          throw new SwitchyardError(
            ErrorCode.BadPluginResponse,
            "The plugin's reply ended before its announced size",
          );
        }
        end("");
        c.close();
      } catch (err) {
        cut(err);
      }
    },
    cancel() {
      if (end("")) call.cancel("the client went away");
    },
  }, { highWaterMark: 0 });
  return new Response(body, {
    status: 200,
    headers: { ...options.headers, "content-type": "application/json", "content-length": String(total) },
  });
}
