import type { MsgHdrs } from "@nats-io/nats-core";
import { concatBytes } from "../bytes.ts";
import type { Clock } from "../deps.ts";
import { ErrorCode, SwitchyardError } from "../errors.ts";
import { isBusError, RequestLostError } from "./bus_errors.ts";
import { H_BYTES, H_CANCEL, H_END, H_SEQ } from "./headers.ts";
import type { BusReply, RequestMux } from "./request_mux.ts";
import { StreamPull } from "./stream_pull.ts";
import { WireHeaders } from "./wire_headers.ts";

/** Bytes of a message kept for its protocol line and headers (besides the headers' own size). */
export const CHUNK_HEADROOM = 1024;
const EMPTY = new Uint8Array(0);
/** Pulls outstanding while a reply in chunks comes in. */
const REPLY_WINDOW = 4;

/** The encoded size of `headers`, near enough to size a chunk under `max_payload`. */
export function headerBytes(headers: MsgHdrs | undefined): number {
  if (headers === undefined) return 0;
  let n = 16;
  for (const [k, values] of headers) for (const v of values) n += k.length + v.length + 4;
  return n;
}

/** True when `data` with `headers` does not fit in one message of at most `maxPayload` bytes. */
export function needsChunks(data: Uint8Array, headers: MsgHdrs | undefined, maxPayload: number): boolean {
  return sizeNeedsChunks(data.length, headers, maxPayload);
}

/** True when a body of `size` bytes with `headers` does not fit in one message of at most `maxPayload` bytes. */
export function sizeNeedsChunks(size: number, headers: MsgHdrs | undefined, maxPayload: number): boolean {
  // Most bodies are far below the limit: the header walk is for those near it.
  return size > maxPayload / 2 && size + headerBytes(headers) + CHUNK_HEADROOM > maxPayload;
}

/**
 * An input sent in chunks that is not in memory whole: each chunk is asked for as it is sent (the
 * router reads it from the HTTP request then). Chunks are asked for in order, each once, except
 * the first, which may be asked for again (a resend after no responders).
 */
export interface BodySource {
  /**
   * The whole size in bytes, announced with the first chunk; `undefined` while it is unknown (an
   * HTTP body without `Content-Length`): the input then goes as `sy-bytes: *`, its last chunk
   * marked `sy-end`.
   */
  readonly size: number | undefined;
  /** The `n` bytes from `at` (fewer only at the end); valid until the next call. */
  read(at: number, n: number): Promise<Uint8Array>;
  /** True once the chunks read so far are the whole input. */
  readonly ended: boolean;
}

/** `sy-bytes` of an input whose size is known only at its end: its last chunk says `sy-end`. */
export const UNSIZED = "*";

/** Options of {@linkcode requestInChunks}. */
export interface ChunkedRequestOptions {
  timeoutMs: number;
  tag?: string | undefined;
  clock: Clock;
  /** The session subject the rest goes to, from the instance's answer to the first chunk. @throws for an answer that names none */
  session: (ack: BusReply) => string;
}

/**
 * Sends a request whose input is larger than one message: the first chunk goes to `subject` with
 * `sy-bytes` (the whole size, or `*` when a source does not know it: its last chunk says `sy-end`); the instance answers with an empty acknowledgement naming its
 * session, and each further chunk is a request to the session subject with its `sy-seq`,
 * acknowledged in turn. The answer to the last chunk is the method's reply, returned like any
 * reply (an error reply included). An instance that refuses the body answers the first chunk
 * with an error reply, returned as is. `data` is the input whole, or a {@linkcode BodySource} read
 * chunk by chunk: one chunk is sent, and acknowledged, before the next is read. A failure after the
 * first acknowledgement tells the instance (a cancel on the session), which drops the input.
 * @throws a bus error when a chunk got no answer; {@linkcode SwitchyardError} `bad_plugin_response`
 * for an acknowledgement that is not one; what the source throws.
 */
export async function requestInChunks(
  mux: RequestMux,
  request: { subject: string; data: Uint8Array | BodySource; headers: MsgHdrs },
  options: ChunkedRequestOptions,
): Promise<BusReply> {
  const { subject, data, headers } = request;
  const { clock, tag } = options;
  const deadline = clock.now() + options.timeoutMs;
  const maxPayload = mux.maxPayload;
  const whole = data instanceof Uint8Array;
  const total = whole ? data.length : data.size;
  const read = whole
    ? (at: number, n: number) => Promise.resolve(data.subarray(at, at + n))
    : (at: number, n: number) => data.read(at, n);
  const ended = total !== undefined ? (at: number) => at >= total : () => (data as BodySource).ended;
  headers.set(H_BYTES, total === undefined ? UNSIZED : String(total));
  // The headroom covers a size written over the placeholder below.
  const first = maxPayload - headerBytes(headers) - CHUNK_HEADROOM;
  const size = maxPayload - CHUNK_HEADROOM - 64;
  if (first <= 0) {
    throw new SwitchyardError(
      ErrorCode.PayloadTooLarge,
      "The request's headers leave no room for its body on the bus",
    );
  }
  const head = await read(0, first);
  let at = head.length;
  // An unsized input that ended within its first chunk is one message of known size after all.
  if (total === undefined && ended(at)) headers.set(H_BYTES, String(at));
  let reply = await mux.request(subject, head, { headers, timeoutMs: options.timeoutMs, tag });
  let target: string | undefined;
  try {
    for (let seq = 1; !ended(at); seq++) {
      if (reply.status !== 0) return reply;
      if (reply.data.length !== 0 || reply.headers?.get(H_SEQ) !== String(seq - 1)) {
        throw new SwitchyardError(
          ErrorCode.BadPluginResponse,
          "The plugin did not acknowledge a chunk of the input",
        );
      }
      target ??= options.session(reply);
      const chunk = await read(at, size);
      at += chunk.length;
      const h = new WireHeaders();
      h.set(H_SEQ, String(seq));
      if (total === undefined && ended(at)) h.set(H_END, "1");
      const left = deadline - clock.now();
      if (left <= 0) {
        throw new SwitchyardError(ErrorCode.Timeout, "The deadline passed while the input was sent");
      }
      reply = await mux.request(target, chunk, { headers: h, timeoutMs: left, tag });
    }
  } catch (err) {
    if (target === undefined) throw err;
    cancelSession(mux, target, err instanceof Error ? err.message : "the input failed");
    // Nobody listens on the session any more (the instance died): a source read this far cannot be
    // read again, so the request must not be resent as one that ran nowhere.
    if (!whole && isBusError(err) && err.unsent) {
      throw new RequestLostError(target, "the instance went away during the upload");
    }
    throw err;
  }
  return reply;
}

/** Tells the instance of a session that this side stopped (`sy-cancel`, published without a reply subject). */
export function cancelSession(mux: RequestMux, subject: string, reason: string): void {
  const h = new WireHeaders();
  h.set(H_CANCEL, reason.replace(/[\r\n]+/g, " ").slice(0, 200) || "cancelled");
  mux.publish(subject, EMPTY, h);
}

/**
 * The size a reply in chunks announces (`sy-bytes` of its first message), checked: a reply without
 * one, or over `limit`, is refused and its session cancelled.
 * @throws {SwitchyardError} `bad_plugin_response`
 */
export function announcedReplySize(mux: RequestMux, first: BusReply, subject: string, limit: number): number {
  const total = Number(first.headers?.get(H_BYTES));
  if (!Number.isSafeInteger(total) || total < first.data.length) {
    cancelSession(mux, subject, "malformed reply");
    throw new SwitchyardError(
      ErrorCode.BadPluginResponse,
      "The plugin sent a reply in chunks without its size",
    );
  }
  if (total > limit) {
    cancelSession(mux, subject, "reply too large");
    throw new SwitchyardError(
      ErrorCode.BadPluginResponse,
      `The plugin's reply (${total} bytes) is larger than the limit of ${limit} bytes`,
    );
  }
  return total;
}

/** Options of {@linkcode collectChunks}. */
export interface CollectChunksOptions {
  /** The session subject of `first`. */
  subject: string;
  /** A reply larger than this is refused. */
  limit: number;
  deadline: number;
  tag?: string | undefined;
  clock: Clock;
}

/**
 * Pulls the rest of a reply that came in chunks (its first message says `sy-bytes`) and returns it
 * whole, as one reply with the first message's headers. An error reply on the way is returned as is.
 * @throws {SwitchyardError} `bad_plugin_response` for a reply over `limit`, or whose chunks do not
 * add up to what it announced; what {@linkcode StreamPull.next} throws.
 */
export async function collectChunks(
  mux: RequestMux,
  first: BusReply,
  options: CollectChunksOptions,
): Promise<BusReply> {
  const total = Number(first.headers?.get(H_BYTES));
  const pull = new StreamPull(mux, first, { ...options, window: REPLY_WINDOW, idleMs: 0 });
  if (!Number.isSafeInteger(total) || total < first.data.length) {
    pull.cancel("malformed reply");
    throw new SwitchyardError(
      ErrorCode.BadPluginResponse,
      "The plugin sent a reply in chunks without its size",
    );
  }
  if (total > options.limit) {
    pull.cancel("reply too large");
    throw new SwitchyardError(
      ErrorCode.BadPluginResponse,
      `The plugin's reply (${total} bytes) is larger than the limit of ${options.limit} bytes`,
    );
  }
  // Kept as they come, not allocated up front: a size is a claim until the bytes arrive.
  const chunks = [first.data];
  let at = first.data.length;
  for (;;) {
    const next = await pull.next();
    if (next === undefined) break;
    if (next.status !== 0) return next;
    if (at + next.data.length > total) {
      pull.cancel("reply larger than announced");
      throw new SwitchyardError(
        ErrorCode.BadPluginResponse,
        "The plugin's reply is larger than it announced",
      );
    }
    chunks.push(next.data);
    at += next.data.length;
  }
  if (at !== total) {
    throw new SwitchyardError(
      ErrorCode.BadPluginResponse,
      "The plugin's reply ended before its announced size",
    );
  }
  return { data: concatBytes(chunks, total), headers: first.headers, status: 0, code: "", stream: "" };
}
