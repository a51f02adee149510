/**
 * One client connection of the Deno guard: reads each request head, checks it by the guard's
 * rules, builds the `Request`, runs the handler and writes the answer, one request at a time
 * (pipelined ones wait their turn in the buffer). One async loop with three awaits per request
 * (the read, the handler, the write): the rest is synchronous, since every await costs.
 * @module
 */
import { ErrorCode } from "../../errors.ts";
import type { FetchHandler } from "../types.ts";
import type { ConnectionRules } from "../guard_rules.ts";
import { MAX_HEAD_BYTES } from "../guard_rules.ts";
import type { GuardedConnection } from "../guarded_connection.ts";
import type { DenoClient } from "./deno_client.ts";
import { InputBuffer } from "./input.ts";
import { bodyStream, ChunkedBody, FixedLengthBody } from "./body.ts";
import type { BodySource } from "./body.ts";
import { LiteRequest } from "./lite_request.ts";
import type { LiteBody } from "./lite_request.ts";
import { answerBytes, writeResponse } from "./response.ts";
import type { AnswerOptions } from "./response.ts";
import type { RequestHead } from "../request_head.ts";
import { closesAfterAnswer } from "../early_close.ts";
import type { EdgeRefusal } from "../edge_errors.ts";

/** What every connection of one server shares. */
export interface ServedBy {
  readonly rules: ConnectionRules;
  readonly fetch: FetchHandler;
  readonly refuse: EdgeRefusal;
  /** The `Date` value now. */
  date(): string;
}

/** `new Request()` refuses these methods (and a proxy tunnel has no business here). */
const FORBIDDEN_METHOD = /^(?:CONNECT|TRACE|TRACK)$/i;
const CONTINUE = new TextEncoder().encode("HTTP/1.1 100 Continue\r\n\r\n");
/** Answers up to this size are built in one buffer per connection. */
const ANSWER_BUFFER_BYTES = 2048;
/** The head is not complete yet. */
const MORE = 0;
/** The connection is done (refused, or ended). */
const DONE = 1;

/** Serves the requests of one admitted client connection until it ends. */
export async function serveHttp1(
  io: DenoClient,
  guarded: GuardedConnection,
  served: ServedBy,
): Promise<void> {
  const { rules } = served;
  const input = new InputBuffer(io.read);
  const scratch = new Uint8Array(ANSWER_BUFFER_BYTES);
  /** A read started while a streamed answer was written (see {@linkcode readAhead}), not yet taken. */
  let ahead: Promise<number | null> | undefined;
  try {
    for (;;) {
      let head = nextHead(input, guarded, served);
      while (head === MORE) {
        let n: number | null;
        if (ahead !== undefined) {
          n = await ahead; // its bytes are in `input` already
          ahead = undefined;
        } else {
          try {
            n = await io.read(input.spare());
          } catch {
            n = null; // reset by the peer, or closed by the sweep
          }
          if (n !== null && n > 0) input.added(n);
        }
        if (n === null || n === 0 || !io.canAnswer) return;
        guarded.bytesArrived();
        head = nextHead(input, guarded, served);
      }
      if (head === DONE) return;
      guarded.requestStarted();
      const made = requestOf(head, input, io);
      if (made === undefined) {
        return void refuse(
          served,
          guarded,
          "400 Bad Request",
          ErrorCode.InvalidRequest,
          "The request target or the Host header is malformed",
          head,
        );
      }
      const { req, body } = made;
      let res: Response;
      try {
        res = await served.fetch(req, guarded);
      } catch {
        res = served.refuse(ErrorCode.Internal, "Internal error", head.requestId);
      }
      const close = head.close || rules.closing || (body !== undefined && !body.done) ||
        closesAfterAnswer(req, res);
      const options: AnswerOptions = {
        headOnly: head.method === "HEAD",
        close,
        closeDelimited: head.minor === 0,
        date: served.date(),
        scratch,
      };
      const bytes = answerBytes(res, options);
      if (bytes === undefined && (body === undefined || body.done) && input.size === 0) {
        // A body still being produced (a stream) may stay quiet for long: a read now sees the client
        // leave at once. What it reads (a pipelined request) waits for the loop.
        ahead = readAhead(io, input);
        options.gone = ahead.then((n) => n === null || n === 0 ? undefined : new Promise<void>(() => {}));
      }
      if (!(bytes !== undefined ? await io.write(bytes) : await writeResponse(res, io.write, options))) {
        return;
      }
      if (close) {
        rules.forget(guarded);
        return io.stopReading();
      }
      guarded.requestEnded();
      if (input.size > 0) guarded.bytesArrived();
    }
  } catch {
    // A failure of this connection's own: it closes below.
  } finally {
    if (rules.forget(guarded)) io.destroy();
  }
}

/**
 * Reads once into `input` (the bytes are added when they arrive): null or 0 when the client closed
 * its side or the connection failed.
 */
function readAhead(io: DenoClient, input: InputBuffer): Promise<number | null> {
  return io.read(input.spare()).then((n) => {
    if (n !== null && n > 0) input.added(n);
    return n === null || n > 0 ? n : null;
  }, () => null);
}

/** The next request head if it is all here and passes the rules; MORE while it is not all here; DONE once refused. */
function nextHead(
  input: InputBuffer,
  guarded: GuardedConnection,
  served: ServedBy,
): RequestHead | typeof MORE | typeof DONE {
  // An empty line before a request line is ignored (RFC 9112, 2.2): some clients end a body with one.
  while (input.peek(0) === 13 && input.peek(1) === 10) input.skip(2);
  const length = input.headLength();
  if (length === -1 ? input.size > MAX_HEAD_BYTES : length > MAX_HEAD_BYTES) {
    return served.rules.headTooLarge(guarded), DONE;
  }
  if (length === -1) return MORE;
  const head = served.rules.head(guarded, input.takeLatin1(length));
  if (head === undefined) return DONE;
  // Deno cannot tell HTTP/1.0 from 1.1 without the guard either: a URL needs a host.
  if (head.host === undefined) {
    return refuse(
      served,
      guarded,
      "400 Bad Request",
      ErrorCode.InvalidRequest,
      "The Host header is required",
      head,
    );
  }
  if (FORBIDDEN_METHOD.test(head.method)) {
    return refuse(
      served,
      guarded,
      "405 Method Not Allowed",
      ErrorCode.MethodNotAllowed,
      `${head.method} is not served here`,
      head,
    );
  }
  return head;
}

/**
 * The request for `head` (a {@linkcode LiteRequest}), its body taken from `input`: as bytes when all
 * of it has arrived, else as a stream read only when the handler reads it. `body` tracks whether the wire is at the next
 * request; undefined when nothing is left on it. A body on GET or HEAD (which `Request` cannot
 * carry) is left unread, so its connection closes after the answer. Undefined when the URL parser
 * refuses the target or Host (a port past 65535), as `new Request()` would.
 */
function requestOf(
  head: RequestHead,
  input: InputBuffer,
  io: DenoClient,
): { req: Request; body: BodySource | undefined } | undefined {
  const url = head.target.charCodeAt(0) === 47 /* / */ ? `http://${head.host}${head.target}` : head.target;
  if (!URL.canParse(url)) return undefined;
  const method = head.method;
  let body: BodySource | undefined;
  let content: LiteBody;
  if (head.chunked || head.contentLength > 0) {
    const upper = method.toUpperCase();
    if (upper === "GET" || upper === "HEAD") {
      body = { done: false, next: () => Promise.resolve(null) };
    } else if (!head.chunked && input.size >= head.contentLength) {
      content = input.take(head.contentLength) as Uint8Array<ArrayBuffer>;
    } else {
      const source = body = head.chunked ? new ChunkedBody(input) : new FixedLengthBody(input, head.contentLength);
      const expectContinue = head.expectContinue;
      content = (onFirstRead) =>
        bodyStream(source, () => {
          onFirstRead();
          return expectContinue ? io.write(CONTINUE).then(() => {}) : Promise.resolve();
        });
    }
  }
  const headers = new Headers();
  const fields = head.fields;
  for (let i = 0; i < fields.length; i += 2) headers.append(fields[i]!, fields[i + 1]!);
  return { req: new LiteRequest(url, method, headers, content) as unknown as Request, body };
}

function refuse(
  served: ServedBy,
  guarded: GuardedConnection,
  status: string,
  code: ErrorCode,
  message: string,
  head: RequestHead,
): typeof DONE {
  served.rules.refuse(guarded, served.rules.refusal(status, code, message, head.requestId));
  return DONE;
}
