/**
 * Writes a web `Response` as HTTP/1.1 on a connection. A body whose bytes are known (the router's
 * 200s carry them, see {@linkcode RAW_BODY}) or that is complete within a few microtask turns (a
 * string or bytes body) goes out with a `Content-Length` in one write; a body still being produced
 * (a stream of progress lines) goes chunked, each piece as it comes.
 * @module
 */
import { concatBytes } from "../../bytes.ts";

/** Set on a response by the runtime's `ResponseFactory`: its body bytes, written without reading the body stream. */
export const RAW_BODY: unique symbol = Symbol("switchyard.rawBody");

/** A response that may carry its body bytes under {@linkcode RAW_BODY}. */
export type RawBodyResponse = Response & { [RAW_BODY]?: Uint8Array };

/** The connection side of a response: writes resolve false once the client is gone. */
export type WriteBytes = (bytes: Uint8Array) => Promise<boolean>;

/** How to answer: {@linkcode writeResponse}'s options. */
export interface AnswerOptions {
  /** A HEAD request: the head only. */
  headOnly: boolean;
  /** Say `Connection: close` (the connection closes after this answer). */
  close: boolean;
  /** An HTTP/1.0 client: a body still being produced is delimited by the close, not chunked. */
  closeDelimited: boolean;
  /** The `Date` value. */
  date: string;
  /** A buffer an answer that fits is built in (one per connection: answers are written one at a time). */
  scratch?: Uint8Array;
  /**
   * Resolves when the client closed its side while a body still being produced is written: the
   * body is cancelled then (its producer learns the client went away) instead of waiting for its
   * next piece, which for a quiet stream may never come.
   */
  gone?: Promise<void>;
}

const REASONS: Readonly<Record<number, string>> = {
  100: "Continue",
  200: "OK",
  201: "Created",
  202: "Accepted",
  204: "No Content",
  301: "Moved Permanently",
  302: "Found",
  304: "Not Modified",
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  408: "Request Timeout",
  409: "Conflict",
  413: "Content Too Large",
  415: "Unsupported Media Type",
  421: "Misdirected Request",
  422: "Unprocessable Content",
  429: "Too Many Requests",
  431: "Request Header Fields Too Large",
  500: "Internal Server Error",
  502: "Bad Gateway",
  503: "Service Unavailable",
  504: "Gateway Timeout",
};
/** Fields the server writes itself, from the connection's state and the body. */
const FRAMING = new Set(["connection", "content-length", "keep-alive", "transfer-encoding", "date"]);
const EMPTY = new Uint8Array(0);
const END_CHUNKS = new Uint8Array([48, 13, 10, 13, 10]); // 0\r\n\r\n
const NOT_YET: unique symbol = Symbol("not yet");
/** Bodies larger than this go chunked rather than gathered. */
const MAX_GATHERED = 1024 * 1024;
const encoder = new TextEncoder();

/**
 * The whole answer as bytes when its body is known without reading a stream (carried under
 * {@linkcode RAW_BODY}, absent, or not allowed by the status), else undefined: write it with
 * {@linkcode writeResponse} then.
 */
export function answerBytes(res: Response, options: AnswerOptions): Uint8Array | undefined {
  const status = res.status;
  const bodiless = status < 200 || status === 204 || status === 304;
  const raw = (res as RawBodyResponse)[RAW_BODY];
  if (raw === undefined && !bodiless && res.body !== null) return undefined;
  if (raw === undefined) res.body?.cancel().catch(() => {});
  const body = bodiless ? EMPTY : raw ?? EMPTY;
  let head = headOf(res, options);
  if (!bodiless) head += `content-length: ${body.length}\r\n`;
  return joined(head, options.headOnly ? EMPTY : body, options.scratch);
}

/**
 * Writes `res` through `write`; resolves true when it went out whole, false when the client went
 * away or the body stream failed (the connection must close then).
 */
export async function writeResponse(
  res: Response,
  write: WriteBytes,
  options: AnswerOptions,
): Promise<boolean> {
  const known = answerBytes(res, options);
  if (known !== undefined) return await write(known);
  let head = headOf(res, options);
  const reader = res.body!.getReader();
  const pieces: Uint8Array[] = [];
  let size = 0;
  /** The read still pending once the body turned out to be still being produced. */
  let pending: Promise<ReadableStreamReadResult<Uint8Array>> | undefined;
  try {
    for (;;) {
      const next = reader.read();
      const got = await soon(next);
      if (got === NOT_YET) {
        pending = next;
        break;
      }
      if (got.done) break;
      pieces.push(got.value);
      size += got.value.length;
      if (size > MAX_GATHERED) break;
    }
  } catch {
    reader.cancel().catch(() => {});
    return false;
  }
  // Not awaited here: this function's frame lets go of the pending read and what it brings.
  if (pending !== undefined || size > MAX_GATHERED) {
    return writeChunked(head, pieces, pending, reader, write, options, declaredLength(res));
  }
  head += `content-length: ${size}\r\n`;
  return await write(
    joined(head, options.headOnly ? EMPTY : concatBytes(pieces, size)),
  );
}

/** The status line and fields, without the framing ones and the blank line. */
function headOf(res: Response, options: AnswerOptions): string {
  const status = res.status;
  let head = `HTTP/1.1 ${status} ${REASONS[status] ?? ""}\r\n`;
  res.headers.forEach((value, name) => {
    if (!FRAMING.has(name)) head += `${name}: ${value}\r\n`;
  });
  head += `date: ${options.date}\r\n`;
  if (options.close) head += "connection: close\r\n";
  return head;
}

/**
 * The rest of a body still being produced, starting with what was gathered: in the chunked coding,
 * or as it comes under the `declared` length (-1: none), or delimited by the close (HTTP/1.0).
 */
async function writeChunked(
  head: string,
  gathered: Uint8Array[],
  pending: Promise<ReadableStreamReadResult<Uint8Array>> | undefined,
  reader: ReadableStreamDefaultReader<Uint8Array>,
  write: WriteBytes,
  options: AnswerOptions,
  declared: number,
): Promise<boolean> {
  // A length the handler set (a large reply relayed as it comes) is kept: the body is written as
  // it comes, unframed, and a body that ends short or runs long closes the connection.
  if (options.headOnly) {
    reader.cancel().catch(() => {});
    return await write(joined(declared < 0 ? head : `${head}content-length: ${declared}\r\n`, EMPTY));
  }
  const sized = declared >= 0;
  const frame = options.closeDelimited || sized ? (piece: Uint8Array) => piece : chunk;
  let left = declared;
  let ok = await write(
    joined(
      sized
        ? `${head}content-length: ${declared}\r\n`
        : options.closeDelimited
        ? head
        : `${head}transfer-encoding: chunked\r\n`,
      EMPTY,
    ),
  );
  for (const piece of gathered) left -= piece.length;
  if (sized && left < 0) ok = false;
  // Written pieces are let go of (here, by the caller's array, by the read that brought them): a
  // reply in ~1 MiB chunks would otherwise hold its first ones until the answer ends.
  while (ok && gathered.length > 0) ok = await write(frame(gathered.shift()!));
  gathered.length = 0;
  let next = pending;
  pending = undefined;
  // Cancelling the body ends the read waiting on it. Not a race of each read against `gone`: every
  // race would stay attached to it, holding the piece it settled with, until the client leaves.
  let gone = false;
  options.gone?.then(() => {
    gone = true;
    reader.cancel().catch(() => {});
  });
  try {
    while (ok) {
      const got = await (next ?? reader.read());
      next = undefined;
      if (gone) break;
      if (got.done) return sized ? left === 0 : options.closeDelimited || await write(END_CHUNKS);
      if (got.value.length > 0) {
        if (sized && (left -= got.value.length) < 0) break;
        ok = await write(frame(got.value));
      }
    }
  } catch {
    // The body failed part way: the client sees a cut-off answer, never a complete wrong one.
  }
  reader.cancel().catch(() => {});
  return false;
}

/** The response's `content-length` when it is a plain decimal number, else -1. */
function declaredLength(res: Response): number {
  const value = res.headers.get("content-length");
  return value !== null && /^\d{1,15}$/.test(value) ? Number(value) : -1;
}

/** `p`'s result if it settles within a few microtask turns (a string or bytes body does), else NOT_YET. */
function soon<T>(p: Promise<T>): Promise<T | typeof NOT_YET> {
  return Promise.race<T | typeof NOT_YET>([
    p,
    (async (): Promise<typeof NOT_YET> => {
      for (let i = 0; i < 4; i++) await null;
      return NOT_YET;
    })(),
  ]);
}

function chunk(piece: Uint8Array): Uint8Array {
  const size = `${piece.length.toString(16)}\r\n`;
  const out = new Uint8Array(size.length + piece.length + 2);
  encoder.encodeInto(size, out);
  out.set(piece, size.length);
  out[out.length - 2] = 13;
  out[out.length - 1] = 10;
  return out;
}

/**
 * The head (a latin1 string: field values are byte strings) and the body in one buffer: `into`
 * when they fit (the caller's per-connection buffer, free again once the write resolved).
 */
function joined(head: string, body: Uint8Array, into?: Uint8Array): Uint8Array {
  const length = head.length + 2;
  const size = length + body.length;
  const out = into !== undefined && size <= into.length ? into.subarray(0, size) : new Uint8Array(size);
  const { read, written } = encoder.encodeInto(head, out);
  // A character past ASCII took more than one byte: write each as the one byte it stands for.
  if (read !== head.length || written !== head.length) {
    for (let i = 0; i < head.length; i++) out[i] = head.charCodeAt(i);
  }
  out[length - 2] = 13;
  out[length - 1] = 10;
  out.set(body, length);
  return out;
}
