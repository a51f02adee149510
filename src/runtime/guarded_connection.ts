/**
 * One client connection through the connection guard, as the runtime's handler sees it, and the
 * wrapper that runs the handler for a request that came through the guard.
 * @module
 */
import type { Socket } from "node:net";
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

/** The guard's side of a connection: its deadline settings. */
export interface GuardSettings {
  readonly idleTimeoutMs: number;
}

/** One client connection through the guard; what the runtime's handler sees as the peer. */
export class GuardedConnection implements PeerInfo {
  clientCertificate: PeerInfo["clientCertificate"];
  /** HEADERS, ACTIVE, IDLE or CLOSING. */
  state = HEADERS;
  /** Epoch ms after which the sweep closes the connection. */
  deadline: number;
  readonly client: Socket;
  backend: Socket | undefined;
  /** The guard's end of the loopback connection, once connected. */
  localPort: number | undefined;
  readonly #settings: GuardSettings;
  /** Requests the handler is working on (more than one when pipelined or over h2c). */
  #active = 0;

  constructor(settings: GuardSettings, client: Socket, deadline: number) {
    this.#settings = settings;
    this.client = client;
    this.deadline = deadline;
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
   * timeout): forward none of the client's bytes any more and stop reading them, so an upload costs
   * no memory and no CPU past the socket buffers. The backend is told the request ended, so it
   * writes its answer and closes; the client end closes after {@linkcode LINGER_MS} at the latest.
   */
  stopForwarding(): void {
    if (this.state === CLOSING) return;
    this.state = CLOSING;
    this.deadline = Date.now() + LINGER_MS;
    const { client, backend } = this;
    if (backend !== undefined) {
      client.unpipe(backend);
      backend.end();
    }
    client.pause();
  }

  destroy(): void {
    this.client.destroy();
    this.backend?.destroy();
  }
}

/**
 * Runs `fetch` for a request that came through the guard on `conn`, marking its headers complete
 * and, once answered, the connection idle; an answer that closes the connection stops forwarding
 * the client's bytes. A request that bypassed the guard gets 421.
 */
export function throughGuard(
  conn: GuardedConnection | undefined,
  fetch: FetchHandler,
  req: Request,
  refuse: EdgeRefusal,
): Response | Promise<Response> {
  if (conn === undefined) return refuse(ErrorCode.MisdirectedRequest, "Connect through the router's public address", req.headers.get("x-request-id"));
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
