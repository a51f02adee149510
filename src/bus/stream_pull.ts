import type { Clock, TimerId } from "../deps.ts";
import { ErrorCode, SwitchyardError } from "../errors.ts";
import { H_CANCEL, H_END, H_SEQ } from "./headers.ts";
import type { BusReply, RequestMux } from "./request_mux.ts";
import { WireHeaders } from "./wire_headers.ts";

const EMPTY = new Uint8Array(0);
const noop = () => {};

/** Options of {@linkcode StreamPull}. */
export interface StreamPullOptions {
  /** The session subject on the instance serving it (`<instance base>.$s.<id>`). */
  subject: string;
  /** Messages the caller may hold at once, pulls outstanding included: the credit window. */
  window: number;
  /** Epoch ms on `clock`: every pull ends by then. */
  deadline: number;
  /** No message for this long (while one is awaited) ends the stream with `timeout`; 0: only the deadline. */
  idleMs: number;
  /** The mux tag of the pulls (the plugin name), so that drains block and fail them with the rest. */
  tag?: string | undefined;
  clock: Clock;
}

/** True when `reply` is the last message of its session. */
export function isLastMessage(reply: BusReply): boolean {
  return reply.status !== 0 || reply.headers?.get(H_END) === "1";
}

/**
 * The caller's side of a session (docs/protocol.md, "Streams"): each message of the rest of a
 * stream, or of a reply in chunks, is the answer to one pull, a request to the session subject.
 * At most `window` messages are pulled and not yet taken by {@linkcode StreamPull.next}, so a
 * consumer that stops taking stops the instance (credit-based flow control in which every credit
 * is a request: the instance can send nothing it was not asked for, which NATS's
 * `allow_responses` permission then enforces too). Messages are checked for their sequence.
 */
export class StreamPull {
  readonly #mux: RequestMux;
  readonly #options: StreamPullOptions;
  readonly #pulls: Promise<BusReply>[] = [];
  /** The sequence number the next message must carry (the first message, 0, came with the request). */
  #seq = 1;
  #done: boolean;
  #failure: Error | undefined;
  /** Rejects the `next()` waiting now, when the stream is cancelled under it. */
  #interrupt: ((err: Error) => void) | undefined;

  /** @param first the session's first message (sequence 0), as the request's reply. */
  constructor(mux: RequestMux, first: BusReply, options: StreamPullOptions) {
    this.#mux = mux;
    this.#options = options;
    this.#done = isLastMessage(first);
    // The consumer holds the first message: one credit in use.
    if (!this.#done) this.#fill(options.window - 1);
  }

  /** True once the last message was taken, or the stream failed or was cancelled. */
  get done(): boolean {
    return this.#done;
  }

  /**
   * The next message, an error reply included (it ends the stream); `undefined` after the last.
   * @throws {SwitchyardError} `timeout` when no message came for `idleMs`, `bad_plugin_response`
   * for a message out of sequence; a bus error when a pull got no reply; what `cancel()` was given.
   */
  async next(): Promise<BusReply | undefined> {
    if (this.#failure !== undefined) throw this.#failure;
    if (this.#done) return undefined;
    this.#fill(this.#options.window);
    const head = this.#pulls.shift()!;
    let reply: BusReply;
    try {
      reply = await this.#wait(head);
    } catch (err) {
      const failure = err instanceof Error ? err : new Error(String(err));
      this.#stop(failure, failure.message);
      throw failure;
    }
    const seq = reply.headers?.get(H_SEQ);
    if (seq !== String(this.#seq)) {
      const failure = new SwitchyardError(
        ErrorCode.BadPluginResponse,
        `The plugin sent message ${seq || "(none)"} of a stream where ${this.#seq} was due`,
      );
      this.#stop(failure, "out of sequence");
      throw failure;
    }
    this.#seq++;
    if (isLastMessage(reply)) {
      this.#done = true;
      this.#forgetPulls();
    }
    return reply;
  }

  /**
   * Ends the stream from this side: tells the instance why (its handler's `ctx.signal` aborts),
   * drops the outstanding pulls, and makes a waiting or later `next()` throw `error`.
   */
  cancel(
    reason: string,
    error: Error = new SwitchyardError(ErrorCode.Internal, `The stream was cancelled: ${reason}`),
  ): void {
    if (this.#done) return;
    this.#stop(error, reason);
  }

  #stop(error: Error, reason: string): void {
    const wasDone = this.#done;
    this.#done = true;
    this.#failure = error;
    if (!wasDone) {
      const h = new WireHeaders();
      h.set(H_CANCEL, reason.replace(/[\r\n]+/g, " ").slice(0, 200) || "cancelled");
      this.#mux.publish(this.#options.subject, EMPTY, h);
    }
    this.#forgetPulls();
    const interrupt = this.#interrupt;
    this.#interrupt = undefined;
    interrupt?.(error);
  }

  #fill(upTo: number): void {
    const { subject, deadline, tag, clock } = this.#options;
    while (this.#pulls.length < upTo) {
      const left = deadline - clock.now();
      const pull = left > 0
        ? this.#mux.request(subject, EMPTY, { timeoutMs: left, tag })
        : Promise.reject(new SwitchyardError(ErrorCode.Timeout, "The stream's deadline passed"));
      pull.catch(noop); // a pull left behind when the stream ends is never awaited
      this.#pulls.push(pull);
    }
  }

  #wait(head: Promise<BusReply>): Promise<BusReply> {
    const { idleMs, clock } = this.#options;
    return new Promise<BusReply>((resolve, reject) => {
      let timer: TimerId | undefined;
      const settle = () => {
        clock.clearTimeout(timer);
        this.#interrupt = undefined;
      };
      this.#interrupt = (err) => {
        settle();
        reject(err);
      };
      if (idleMs > 0) {
        timer = clock.setTimeout(() => {
          settle();
          reject(new SwitchyardError(ErrorCode.Timeout, `No item of the stream within ${idleMs} ms`));
        }, idleMs);
      }
      head.then((r) => {
        settle();
        resolve(r);
      }, (e) => {
        settle();
        reject(e);
      });
    });
  }

  /** Fails the pulls still outstanding, so that they leave the mux now rather than at the deadline. */
  #forgetPulls(): void {
    if (this.#pulls.length === 0) return;
    this.#pulls.length = 0;
    const subject = this.#options.subject;
    this.#mux.failWhere(
      (p) => p.subject === subject,
      () => new SwitchyardError(ErrorCode.Internal, "The stream ended"),
    );
  }
}
