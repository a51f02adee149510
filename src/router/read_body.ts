import { concatBytes } from "../bytes.ts";
import { ErrorCode, isSwitchyardError, SwitchyardError } from "../errors.ts";

const EMPTY = new Uint8Array(0);

/** How often body reads are checked against their deadline: a slow body is cut at most this late. */
export const READ_SWEEP_MS = 50;

interface TrackedRead {
  deadline: number;
  timeoutMs: number;
  req: Request;
  reject(err: Error): void;
}

/**
 * The deadlines of the body reads in flight, checked by one interval while any are pending
 * instead of a timer per request (arming and clearing one costs 1-4 µs on every request).
 */
export class ReadDeadlines {
  readonly #pending = new Set<TrackedRead>();
  #sweeper: ReturnType<typeof setInterval> | undefined;
  readonly #sweep = () => this.#expire();

  /** `read`, or a `request_timeout` rejection once `timeoutMs` passed (the body is cancelled then). */
  within<T>(req: Request, timeoutMs: number, read: Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const entry: TrackedRead = { deadline: Date.now() + timeoutMs, timeoutMs, req, reject };
      const pending = this.#pending;
      pending.add(entry);
      this.#sweeper ??= setInterval(this.#sweep, READ_SWEEP_MS);
      read.then(
        (value) => {
          pending.delete(entry);
          resolve(value);
        },
        (err) => {
          pending.delete(entry);
          reject(err);
        },
      );
    });
  }

  #expire(): void {
    if (this.#pending.size === 0) {
      clearInterval(this.#sweeper);
      this.#sweeper = undefined;
      return;
    }
    const now = Date.now();
    for (const entry of this.#pending) {
      if (entry.deadline > now) continue;
      this.#pending.delete(entry);
      entry.req.body?.cancel().catch(() => {});
      entry.reject(
        new SwitchyardError(ErrorCode.RequestTimeout, `The body did not arrive within ${entry.timeoutMs} ms`, { headers: { connection: "close" } }),
      );
    }
  }
}

/**
 * Reads a request body of at most `limit` bytes; with `deadlines`, within `timeoutMs`. A declared
 * `Content-Length` over the limit is refused before a byte is read; a chunked body is counted while
 * it streams; a body that trickles in too slowly is abandoned.
 * @throws {SwitchyardError} `payload_too_large`, `unsupported_media_type`, `request_timeout`,
 *   `invalid_request` (a malformed `Content-Length`, or a body that breaks off or is malformed on the wire).
 */
export function readBody(req: Request, limit: number, deadlines?: ReadDeadlines, timeoutMs = 0): Promise<Uint8Array> {
  const length = req.headers.get("content-length");
  if (length !== null && !(Number(length) <= limit)) {
    if (!/^\d+$/.test(length.trim())) return Promise.reject(new SwitchyardError(ErrorCode.InvalidRequest, "Content-Length is not a number"));
    return Promise.reject(tooLarge(limit));
  }
  if (length === "0") return Promise.resolve(EMPTY);
  const read = readWithin(req, limit, length);
  return deadlines === undefined || timeoutMs <= 0 ? read : deadlines.within(req, timeoutMs, read);
}

/** {@linkcode streamedLength} of a body without `Content-Length`: it may turn out too large for one bus message. */
export const UNSIZED_BODY = -1;

/**
 * The `Content-Length` of a body too large for one bus message (over `over` bytes) and within
 * `limit`: such a body is streamed to the plugin rather than read whole. {@linkcode UNSIZED_BODY}
 * for a body without `Content-Length` (chunked): the router finds out as it reads. `undefined` for
 * any other body (none, a small one, one over the limit or malformed: {@linkcode readBody} answers
 * those).
 * @throws {SwitchyardError} `unsupported_media_type` for a body of a known size that is not JSON.
 */
export function streamedLength(req: Request, limit: number, over: number): number | undefined {
  const length = req.headers.get("content-length");
  if (length === null) return req.body === null ? undefined : UNSIZED_BODY;
  const n = Number(length);
  if (!(n > over && n <= limit) || !/^\d+$/.test(length.trim())) return undefined;
  checkJsonType(req);
  return n;
}

async function readWithin(req: Request, limit: number, length: string | null): Promise<Uint8Array> {
  try {
    return await readAll(req, limit, length);
  } catch (err) {
    if (isSwitchyardError(err)) throw err;
    // The runtime's parser gave up on the body: bad chunking, a connection cut short.
    throw new SwitchyardError(ErrorCode.InvalidRequest, "The request body is malformed or incomplete", { cause: err, headers: { connection: "close" } });
  }
}

async function readAll(req: Request, limit: number, length: string | null): Promise<Uint8Array> {
  if (length !== null) {
    // A declared length bounds what the HTTP parser delivers. `arrayBuffer()` without touching
    // `req.body` first keeps @hono/node-server on its fast path (reading `body` builds a full
    // undici Request and a web stream per request: ~70 µs on Node).
    const bytes = new Uint8Array(await req.arrayBuffer());
    if (bytes.length > limit) throw tooLarge(limit);
    if (bytes.length > 0) checkJsonType(req);
    return bytes;
  }
  if (req.body === null) return EMPTY;
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = req.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.length;
    if (size > limit) {
      await reader.cancel().catch(() => {});
      throw tooLarge(limit);
    }
    chunks.push(value);
  }
  if (size > 0) checkJsonType(req);
  return concatBytes(chunks, size);
}

/** @throws {SwitchyardError} `unsupported_media_type` for a body that is not sent as JSON. */
export function checkJsonType(req: Request): void {
  const type = req.headers.get("content-type");
  if (type === null || !isJsonType(type)) {
    throw new SwitchyardError(
      ErrorCode.UnsupportedMediaType,
      `Send the body as JSON with "content-type: application/json"${type === null ? "" : ` (got "${type.slice(0, 100)}")`}`,
    );
  }
}

/** `application/json` or any `+json` type, with or without parameters. */
export function isJsonType(type: string): boolean {
  const essence = type.split(";", 1)[0]!.trim().toLowerCase();
  return essence === "application/json" || (essence.startsWith("application/") && essence.endsWith("+json"));
}

/** The rest of a body over the limit is never read: the answer closes the connection, and the runtime adapter stops reading it. */
export function tooLarge(limit: number): SwitchyardError {
  return new SwitchyardError(ErrorCode.PayloadTooLarge, `The body is larger than the limit of ${limit} bytes`, { headers: { connection: "close" } });
}
