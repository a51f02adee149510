/**
 * One client connection through the connection guard, whichever layer does its I/O, and the
 * wrapper that runs the handler for a request that came through the node:net guard's backend.
 * @module
 */
import { ErrorCode } from "../errors.ts";
import type { EdgeRefusal } from "./edge_errors.ts";
import type { FetchHandler, PeerInfo } from "./types.ts";
import { closesAfterAnswer } from "./early_close.ts";

/** Waiting for a request's headers (the first byte of it has come). */
export const HEADERS = 0;
/** The handler is working on a request. */
export const ACTIVE = 1;
/** A keep-alive connection between requests. */
export const IDLE = 2;
/** Answered with `Connection: close`: nothing more is forwarded; the answer drains out, then the socket closes. */
export const CLOSING = 3;

/**
 * How long a connection answered early may linger: its client reads the answer while its upload
 * stalls on a full window (no reset that could throw the answer away); then it is cut.
 */
export const LINGER_MS = 1_000;

/**
 * What a lingering connection may still read and drop: enough that a client which sent a little
 * more than was read (the rest of a small body, a pipelined request) gets no reset instead of the
 * answer, too little for an upload to cost anything.
 */
export const LINGER_READ_BYTES = 64 * 1024;

/** What a guard layer does to one client connection when the rules say so. */
export interface GuardIo {
  /** Whether nothing is being answered, so a whole refusal can still be written. */
  readonly canAnswer: boolean;
  /**
   * Reads and forwards nothing more that matters (at most {@linkcode LINGER_READ_BYTES}, dropped):
   * the answer in flight still goes out, then the write side ends; cut {@linkcode LINGER_MS} later.
   */
  stopReading(): void;
  /** Writes `answer` (a complete response that closes), then stops as {@linkcode stopReading} does. */
  refuse(answer: string): void;
  destroy(): void;
}

/** The guard's side of a connection: its deadline settings. */
export interface GuardSettings {
  readonly headerTimeoutMs: number;
  readonly idleTimeoutMs: number;
}

/** One client connection through the guard; what the runtime's handler sees as the peer. */
export class GuardedConnection implements PeerInfo {
  clientCertificate: PeerInfo["clientCertificate"];
  /** HEADERS, ACTIVE, IDLE or CLOSING. */
  state = HEADERS;
  /** Epoch ms after which the sweep closes the connection. */
  deadline: number;
  readonly io: GuardIo;
  readonly #settings: GuardSettings;
  /** Requests the handler is working on (more than one when pipelined or over h2c). */
  #active = 0;

  constructor(settings: GuardSettings, io: GuardIo, now = Date.now()) {
    this.#settings = settings;
    this.io = io;
    this.deadline = now + settings.headerTimeoutMs;
  }

  /** A byte came while idle: the next request's headers are on the clock now. */
  bytesArrived(): void {
    if (this.state !== IDLE) return;
    this.state = HEADERS;
    this.deadline = Date.now() + this.#settings.headerTimeoutMs;
  }

  /** The handler got this connection's next request: its headers are complete. */
  requestStarted(): void {
    this.#active++;
    if (this.state !== CLOSING) {
      this.state = ACTIVE;
      this.deadline = Infinity;
    }
  }

  /** The handler answered: once no request is left, the connection idles until the client's next byte. */
  readonly requestEnded = (): void => {
    if (--this.#active > 0 || this.state === CLOSING) return;
    this.state = IDLE;
    this.deadline = Date.now() + this.#settings.idleTimeoutMs;
  };

  /**
   * The handler answered with `Connection: close` (an error before the body was read, a body
   * timeout): read none of the client's bytes any more, so an upload costs no memory and no CPU
   * past the socket buffers; the answer goes out and the connection closes after
   * {@linkcode LINGER_MS} at the latest.
   */
  stopForwarding(): void {
    if (this.state === CLOSING) return;
    this.state = CLOSING;
    this.deadline = Date.now() + LINGER_MS;
    this.io.stopReading();
  }

  destroy(): void {
    this.io.destroy();
  }
}

/**
 * Runs `fetch` for a request that came through the node:net guard on `conn`, marking its headers
 * complete and, once answered, the connection idle; an answer that closes the connection stops
 * forwarding the client's bytes. A request that bypassed the guard gets 421.
 */
export function throughGuard(
  conn: GuardedConnection | undefined,
  fetch: FetchHandler,
  req: Request,
  refuse: EdgeRefusal,
): Response | Promise<Response> {
  if (conn === undefined) {
    return refuse(
      ErrorCode.MisdirectedRequest,
      "Connect through the router's public address",
      req.headers.get("x-request-id"),
    );
  }
  conn.requestStarted();
  let out: Response | Promise<Response>;
  try {
    out = fetch(req, conn);
  } catch (err) {
    conn.requestEnded();
    throw err;
  }
  if (out instanceof Promise) {
    return out.then((res) => answered(conn, req, res), (err) => {
      conn.requestEnded();
      throw err;
    });
  }
  return answered(conn, req, out);
}

function answered(conn: GuardedConnection, req: Request, res: Response): Response {
  if (closesAfterAnswer(req, res)) conn.stopForwarding();
  const type = res.headers.get("content-type");
  // Only a streamed answer's body is touched: reading `res.body` makes Deno build a stream for any answer.
  if (type !== null && STREAMED.test(type) && res.body !== null) return untilBodyEnds(conn, res);
  conn.requestEnded();
  return res;
}

/** The router's streamed answers (NDJSON, SSE): written over seconds or minutes, item by item. */
const STREAMED = /^(?:application\/x-ndjson|text\/event-stream)\b/i;

/**
 * A streamed answer keeps its connection busy until its body ends (or the client goes away):
 * the connection must not idle out between two items.
 */
function untilBodyEnds(conn: GuardedConnection, res: Response): Response {
  const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>();
  res.body!.pipeTo(writable).catch(() => {}).finally(conn.requestEnded);
  return new Response(readable, { status: res.status, statusText: res.statusText, headers: res.headers });
}
