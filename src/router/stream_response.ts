import type { Context } from "hono";
import { stream, streamSSE } from "hono/streaming";
import type { StreamingApi } from "hono/utils/stream";
import { codeOf, SwitchyardError } from "../errors.ts";
import type { Logger } from "../deps.ts";
import { wireErrorOf } from "../bus/mod.ts";
import type { BusReply } from "../bus/mod.ts";
import type { StreamCall } from "../pipeline/mod.ts";
import type { StreamMeter } from "../telemetry/mod.ts";
import { errorBody } from "./error_response.ts";
import type { ActiveStreams } from "./active_streams.ts";

/** How long a stream ended by a drain may take to write its error item before its connection is cut. */
export const STREAM_ABORT_GRACE_MS = 1_000;

/** Options of {@linkcode streamResponse}. */
export interface StreamResponseOptions {
  requestId: string;
  plugin: string;
  /** The response headers besides the content type (`x-request-id`, `x-plugin-version`, …). */
  headers: Readonly<Record<string, string>>;
  /** Server-Sent Events instead of NDJSON. */
  sse: boolean;
  /** A client that takes longer than this to take one message is cut off (the stream's idle timeout). */
  idleMs: number;
  /** Where a drain reaches the stream. */
  streams: ActiveStreams;
  logger: Logger;
  /** Counts the items and bytes written, the open streams, the duration and outcome; keeps the span open. */
  meter: StreamMeter;
  /** Called once, when the stream is over: its last byte written, or the client gone; `code` is its error's, "" for none. */
  onEnd: (code: string) => void;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const NEWLINE = 0x0a;
const LINE = /\r\n|\r|\n/;

/**
 * A streaming method's answer over HTTP: NDJSON (one JSON value per line), or Server-Sent Events
 * (`data: <item>` per event). The status and headers went out with the first item (`call.first`).
 * Each message is written before the next is pulled, so a client that reads slowly slows the
 * stream down to the plugin; one that takes nothing for the idle timeout is cut off. An error after the first item is a last line `{"error":{…}}` (SSE:
 * `event: error`); an SSE stream that ends well says `event: end`. The client going away cancels
 * the stream at the plugin (its `ctx.signal` aborts, its generator's `finally` runs).
 */
export function streamResponse(c: Context, call: StreamCall, options: StreamResponseOptions): Response {
  for (const [name, value] of Object.entries(options.headers)) c.header(name, value);
  c.header("cache-control", "no-cache");
  c.header("x-content-type-options", "nosniff");
  const pump = (api: StreamingApi) => pumpStream(api, call, options);
  if (options.sse) return streamSSE(c, pump);
  c.header("content-type", "application/x-ndjson");
  return stream(c, pump);
}

async function pumpStream(
  api: StreamingApi,
  call: StreamCall,
  options: StreamResponseOptions,
): Promise<void> {
  const { sse, requestId, logger, meter } = options;
  let code = "";
  let ended = false;
  /** The client went away before the error that ended the stream (which it then caused). */
  let gone = false;
  const remove = options.streams.add(options.plugin, (error) => {
    call.cancel(error.message, error);
    // A client that reads nothing would hold the error item, and the drain, forever.
    setTimeout(() => {
      if (!ended) api.abort();
    }, STREAM_ABORT_GRACE_MS);
  });
  api.onAbort(() => {
    if (!ended) call.cancel("the client went away");
  });
  try {
    for (let reply: BusReply | undefined = call.first; reply !== undefined; reply = await call.next()) {
      if (reply.status !== 0) {
        const failure = wireErrorOf(reply);
        code = failure.code;
        await writeError(
          api,
          sse,
          new SwitchyardError(failure.code, failure.message || "The plugin failed", {
            status: failure.status,
          }),
          requestId,
          logger,
        );
        break;
      }
      if (reply.data.length > 0) {
        await writeWithin(api, sse ? sseEvents(reply.data) : ndjson(reply.data), options.idleMs);
        if (!api.aborted) meter.sent(reply.data);
      }
      if (api.aborted) break;
    }
    if (code === "" && !api.aborted && sse) await api.write("event: end\ndata: {}\n\n");
  } catch (err) {
    code = codeOf(err);
    if (!api.aborted) await writeError(api, sse, err, requestId, logger);
    else gone = true;
  } finally {
    ended = true;
    remove();
    if (!call.done) call.cancel(api.aborted ? "the client went away" : "the router ended the stream");
    meter.end(gone ? "" : code, api.aborted);
    options.onEnd(code);
  }
}

/**
 * Writes `data`; a client that has not taken it within `ms` (it stopped reading) is cut off: the
 * response is aborted, which ends the stream at the plugin too.
 */
async function writeWithin(api: StreamingApi, data: Uint8Array | string, ms: number): Promise<void> {
  const timer = setTimeout(() => api.abort(), ms);
  try {
    await api.write(data);
  } finally {
    clearTimeout(timer);
  }
}

/** The message's items, one per line, and the newline that ends the last. */
function ndjson(data: Uint8Array): Uint8Array {
  const out = new Uint8Array(data.length + 1);
  out.set(data, 0);
  out[data.length] = NEWLINE;
  return out;
}

/** One event per item. A line break in an item (not JSON then) starts another item, never another field. */
function sseEvents(data: Uint8Array): string {
  let out = "";
  for (const line of decoder.decode(data).split(LINE)) out += `data: ${line}\n\n`;
  return out;
}

async function writeError(
  api: StreamingApi,
  sse: boolean,
  err: unknown,
  requestId: string,
  logger: Logger,
): Promise<void> {
  const text = JSON.stringify(errorBody(err, requestId, logger).body);
  await api.write(sse ? `event: error\ndata: ${text}\n\n` : encoder.encode(`${text}\n`));
}
