import { nuid } from "@nats-io/nats-core";
import type { Msg } from "@nats-io/nats-core";
import { ErrorCode } from "../errors.ts";
import {
  encodeWireError,
  H_CANCEL,
  H_IDLE,
  H_INSTANCE,
  H_VERSION,
  readHeaders,
  WireHeaders,
} from "../bus/mod.ts";
import type { WireError } from "../bus/mod.ts";
import type { MsgHdrs } from "@nats-io/nats-core";
import { ItemStream } from "./item_stream.ts";
import { BodyUpload, ChunkedReply } from "./body_sessions.ts";
import type { Session, SessionBase, SessionInit, SessionOrigin } from "./session_replies.ts";

/** How long a session waits for its caller's next message when the request does not say (`sy-idle`). */
export const DEFAULT_SESSION_IDLE_MS = 30_000;
/** Input in chunks larger than this is refused with 413. */
export const DEFAULT_MAX_INPUT_BYTES = 64 * 1024 * 1024;
/** Bytes of a chunk kept free for its headers. */
const CHUNK_HEADROOM = 1024;

/**
 * The sessions of one instance (streams, replies and inputs in chunks), keyed by id, and the
 * handler of their subject `<instance base>.$s.*`. A message for a session that is gone is
 * answered with 504 `timeout` (it ended, or waited too long for its caller); a cancel for one is
 * dropped.
 */
export class SessionTable {
  readonly #sessions = new Map<string, Session>();
  readonly #origin: SessionOrigin;
  readonly #onClose = (s: SessionBase) => this.#closed(s);
  #idle: (() => void)[] = [];

  constructor(origin: SessionOrigin) {
    this.#origin = origin;
  }

  /** Sessions open now. */
  get size(): number {
    return this.#sessions.size;
  }

  /** The subscription callback of the session subject: the session id is the subject's last token. */
  handle(msg: Msg): void {
    const id = msg.subject.slice(msg.subject.lastIndexOf(".") + 1);
    const hdrs = readHeaders(msg);
    const cancel = hdrs?.get(H_CANCEL) || undefined;
    const session = this.#sessions.get(id);
    if (session !== undefined) return session.receive(msg, cancel);
    if (cancel !== undefined || msg.reply === undefined || msg.reply === "") return;
    const h = new WireHeaders();
    h.set(H_INSTANCE, this.#origin.instanceId);
    h.set(H_VERSION, this.#origin.version);
    const { headers, data } = encodeWireError({
      status: 504,
      code: ErrorCode.Timeout,
      message: "The stream is over on the instance (it ended, or waited too long for a pull)",
    }, h);
    try {
      msg.respond(data, { headers });
    } catch {
      // connection closing: the caller's own deadline ends its wait
    }
  }

  /** Opens the stream of a streaming method's items; the request gets the first message. */
  openStream(request: Msg, hdrs: MsgHdrs | undefined, onStop: (reason: string) => void): ItemStream {
    const stream = new ItemStream(this.#init(hdrs), request, onStop);
    this.#sessions.set(stream.id, stream);
    return stream;
  }

  /** Sends `data` in chunks of at most `maxPayload` bytes per message; the request gets the first. */
  sendInChunks(request: Msg, hdrs: MsgHdrs | undefined, data: Uint8Array, maxPayload: number): ChunkedReply {
    const reply = new ChunkedReply(this.#init(hdrs), data, maxPayload - CHUNK_HEADROOM);
    this.#sessions.set(reply.id, reply);
    reply.start(request);
    return reply;
  }

  /**
   * Receives an input of `total` bytes in chunks, the first in `request`; `undefined`: of a size
   * known at its end (`sy-bytes: *`), counted against `maxBytes` as it comes.
   * @returns the session, or the error to answer the request with (a size over `maxBytes`, or none).
   */
  receiveInput(
    request: Msg,
    hdrs: MsgHdrs | undefined,
    total: number | undefined,
    maxBytes = DEFAULT_MAX_INPUT_BYTES,
  ): BodyUpload | WireError {
    if (total !== undefined && (!Number.isSafeInteger(total) || total < 0 || total > maxBytes)) {
      const error = total > maxBytes
        ? {
          status: 413,
          code: ErrorCode.PayloadTooLarge,
          message: `The input is larger than the limit of ${maxBytes} bytes`,
        }
        : { status: 400, code: ErrorCode.InvalidRequest, message: "sy-bytes is not a size" };
      return error;
    }
    const upload = new BodyUpload(this.#init(hdrs), total, maxBytes);
    this.#sessions.set(upload.id, upload);
    upload.start(request);
    return upload;
  }

  /** Ends every open session with `error` (a drain that ran out of time). */
  failAll(error: WireError): void {
    for (const session of [...this.#sessions.values()]) session.fail(error);
  }

  /** Resolves once no session is open. */
  whenEmpty(): Promise<void> {
    if (this.#sessions.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  #init(hdrs: MsgHdrs | undefined): SessionInit {
    return { id: nuid.next(), origin: this.#origin, idleMs: idleOf(hdrs), onClose: this.#onClose };
  }

  #closed(session: SessionBase): void {
    this.#sessions.delete(session.id);
    if (this.#sessions.size === 0 && this.#idle.length > 0) {
      for (const resolve of this.#idle.splice(0)) resolve();
    }
  }
}

/** The request's `sy-idle`, bounded to [1 s, 1 h]; the default without one. */
function idleOf(hdrs: MsgHdrs | undefined): number {
  const ms = Number(hdrs?.get(H_IDLE));
  return Number.isFinite(ms) && ms > 0 ? Math.min(3_600_000, Math.max(1_000, ms)) : DEFAULT_SESSION_IDLE_MS;
}
