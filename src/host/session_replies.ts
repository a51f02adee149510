import type { Msg } from "@nats-io/nats-core";
import type { Clock, Logger, TimerId } from "../deps.ts";
import {
  encodeWireError,
  H_BYTES,
  H_END,
  H_INSTANCE,
  H_SEQ,
  H_STREAM,
  H_VERSION,
  WireHeaders,
} from "../bus/mod.ts";
import type { WireError } from "../bus/mod.ts";

/** Who a session's messages are from, and where they are logged. */
export interface SessionOrigin {
  readonly instanceId: string;
  readonly version: string;
  readonly logger: Logger;
  readonly clock: Clock;
}

/** What every session is made with. */
export interface SessionInit {
  readonly id: string;
  readonly origin: SessionOrigin;
  /** How long the session waits for its caller's next message. */
  readonly idleMs: number;
  /** Told once the session is over (the table forgets it). */
  readonly onClose: (session: SessionBase) => void;
}

/** What the session table needs of a session. */
export interface Session {
  readonly id: string;
  /** A message on the session subject: a pull, a chunk of input, or a cancel (`reason`). */
  receive(msg: Msg, cancel: string | undefined): void;
  /** Ends the session with `error` (a drain that ran out of time). */
  fail(error: WireError): void;
  /** Resolves once the session is over: its last message sent, or cancelled, or timed out. */
  readonly closed: Promise<void>;
}

/**
 * The messages of one session, numbered from 0 (`sy-seq`), each the answer to one message of the
 * caller, plus the idle timer that ends a session whose caller stopped pulling, and the
 * bookkeeping of its end. The kinds of session (streams of items, replies in chunks, input in
 * chunks) extend it.
 */
export abstract class SessionBase implements Session {
  readonly id: string;
  readonly closed: Promise<void>;
  protected readonly origin: SessionOrigin;
  readonly #idleMs: number;
  readonly #onClose: (session: SessionBase) => void;
  #seq = 0;
  #timer: TimerId | undefined;
  #close!: () => void;
  #isClosed = false;

  constructor(init: SessionInit) {
    this.id = init.id;
    this.origin = init.origin;
    this.#idleMs = init.idleMs;
    this.#onClose = init.onClose;
    this.closed = new Promise((resolve) => this.#close = resolve);
  }

  abstract receive(msg: Msg, cancel: string | undefined): void;
  abstract fail(error: WireError): void;
  /** The caller went away, or stopped pulling for the idle timeout. */
  protected abstract stopped(reason: string): void;

  get isClosed(): boolean {
    return this.#isClosed;
  }

  /** Sends the next message of the session to `to`: data, or an error that ends it. */
  protected send(
    to: Msg,
    data: Uint8Array,
    options: { end?: boolean; error?: WireError; bytes?: number } = {},
  ): void {
    const h = new WireHeaders();
    h.set(H_INSTANCE, this.origin.instanceId);
    h.set(H_VERSION, this.origin.version);
    h.set(H_STREAM, this.id);
    h.set(H_SEQ, String(this.#seq++));
    if (options.bytes !== undefined) h.set(H_BYTES, String(options.bytes));
    if (options.end === true || options.error !== undefined) h.set(H_END, "1");
    let payload = data;
    if (options.error !== undefined) payload = encodeWireError(options.error, h).data;
    try {
      to.respond(payload, { headers: h });
    } catch (err) {
      this.origin.logger.warn("could not send a stream message", { stream: this.id, error: String(err) });
    }
  }

  /** Waits for the caller: if nothing comes within the idle timeout, the session stops. */
  protected waitForCaller(): void {
    if (this.#isClosed || this.#idleMs <= 0 || this.#timer !== undefined) return;
    this.#timer = this.origin.clock.setTimeout(() => {
      this.#timer = undefined;
      this.stopped(`no pull for ${this.#idleMs} ms`);
    }, this.#idleMs);
  }

  /** The caller is here: its idle timer stops. */
  protected callerCame(): void {
    this.origin.clock.clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /** The session is over: it leaves the table; what waits on `closed` goes on. */
  protected close(): void {
    if (this.#isClosed) return;
    this.#isClosed = true;
    this.callerCame();
    this.#onClose(this);
    this.#close();
  }
}
