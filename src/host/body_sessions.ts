import type { Msg } from "@nats-io/nats-core";
import { concatBytes } from "../bytes.ts";
import { ErrorCode } from "../errors.ts";
import { H_END, H_SEQ, readHeaders } from "../bus/mod.ts";
import type { WireError } from "../bus/mod.ts";
import { SessionBase } from "./session_replies.ts";
import type { SessionInit } from "./session_replies.ts";

const EMPTY = new Uint8Array(0);

/**
 * A unary reply larger than one message: the first chunk answers the request (with `sy-bytes`,
 * the whole size), each pull of the caller gets the next, the last says `sy-end`.
 */
export class ChunkedReply extends SessionBase {
  readonly #data: Uint8Array;
  readonly #chunk: number;
  #at = 0;

  constructor(init: SessionInit, data: Uint8Array, chunkBytes: number) {
    super(init);
    this.#data = data;
    this.#chunk = chunkBytes;
  }

  /** Answers the request with the first chunk. */
  start(request: Msg): void {
    this.#next(request, this.#data.length);
  }

  override receive(msg: Msg, cancel: string | undefined): void {
    if (cancel !== undefined) return this.stopped(cancel);
    this.callerCame();
    this.#next(msg);
  }

  override fail(): void {
    // The reply is made: what is left of it still goes out; the idle timer ends a caller that is gone.
  }

  protected override stopped(_reason: string): void {
    this.close();
  }

  #next(to: Msg, bytes?: number): void {
    const end = Math.min(this.#data.length, this.#at + this.#chunk);
    const last = end === this.#data.length;
    this.send(to, this.#data.subarray(this.#at, end), {
      end: last,
      ...(bytes === undefined ? {} : { bytes }),
    });
    this.#at = end;
    if (last) this.close();
    else this.waitForCaller();
  }
}

/** The whole input of a request that came in chunks, and the message to answer. */
export interface ReceivedBody {
  data: Uint8Array;
  /** The last chunk's message: the method's reply answers it. */
  replyTo: Msg;
}

/**
 * An input larger than one message, coming in chunks: the first with the request (which says
 * `sy-bytes`), each further one a request to the session subject with its `sy-seq`. Every chunk
 * but the last is acknowledged with an empty message; the last is answered by the method itself.
 * The last is the one that completes the announced size or, for an input sent without one
 * (`sy-bytes: *`), the one that says `sy-end`.
 */
export class BodyUpload extends SessionBase {
  readonly body: Promise<ReceivedBody | WireError>;
  #done!: (result: ReceivedBody | WireError) => void;
  /** Kept as they come, not allocated up front: the size is the caller's claim until the bytes arrive. */
  readonly #chunks: Uint8Array[] = [];
  readonly #total: number | undefined;
  readonly #maxBytes: number;
  #at = 0;
  #seq = 0;

  /** @param total the announced size; `undefined`: known at the end, and at most `maxBytes`. */
  constructor(init: SessionInit, total: number | undefined, maxBytes: number) {
    super(init);
    this.#total = total;
    this.#maxBytes = maxBytes;
    this.body = new Promise((resolve) => this.#done = resolve);
  }

  /** Takes the first chunk, from the request. */
  start(request: Msg): void {
    this.#take(request, false);
  }

  override receive(msg: Msg, cancel: string | undefined): void {
    if (cancel !== undefined) return this.stopped(cancel);
    this.callerCame();
    const hdrs = readHeaders(msg);
    if (hdrs?.get(H_SEQ) !== String(this.#seq)) {
      return this.#refuse(msg, {
        status: 400,
        code: ErrorCode.InvalidRequest,
        message: `Chunk ${this.#seq} of the input was due`,
      });
    }
    this.#take(msg, hdrs.get(H_END) === "1");
  }

  override fail(error: WireError): void {
    this.#done(error);
    this.close();
  }

  protected override stopped(reason: string): void {
    this.#done({
      status: 408,
      code: ErrorCode.RequestTimeout,
      message: `The input did not arrive: ${reason}`,
    });
    this.close();
  }

  #take(msg: Msg, end: boolean): void {
    const chunk = msg.data;
    const total = this.#total;
    const at = this.#at + chunk.length;
    if (total === undefined ? at > this.#maxBytes : at > total) {
      return this.#refuse(msg, total === undefined
        ? {
          status: 413,
          code: ErrorCode.PayloadTooLarge,
          message: `The input is larger than the limit of ${this.#maxBytes} bytes`,
        }
        : {
          status: 400,
          code: ErrorCode.InvalidRequest,
          message: "The input is larger than it announced",
        });
    }
    this.#chunks.push(chunk);
    this.#at = at;
    this.#seq++;
    if (total === undefined ? !end : at < total) {
      if (chunk.length === 0) {
        return this.#refuse(msg, {
          status: 400,
          code: ErrorCode.InvalidRequest,
          message: "An empty chunk of input",
        });
      }
      this.send(msg, EMPTY);
      this.waitForCaller();
      return;
    }
    this.close();
    const data = concatBytes(this.#chunks, at);
    this.#chunks.length = 0;
    this.#done({ data, replyTo: msg });
  }

  #refuse(msg: Msg, error: WireError): void {
    this.send(msg, EMPTY, { error });
    this.#done(error);
    this.close();
  }
}
