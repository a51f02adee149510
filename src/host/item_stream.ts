import type { Msg } from "@nats-io/nats-core";
import type { WireError } from "../bus/mod.ts";
import { SessionBase } from "./session_replies.ts";
import type { SessionInit } from "./session_replies.ts";

/**
 * Items produced ahead of the caller's pulls, at most this many bytes: the next message is ready
 * when its pull comes, and a consumer that stops pulling stops the generator soon after.
 */
export const STREAM_BATCH_BYTES = 64 * 1024;
/** …and at most this many items, so that a generator of tiny items does not run thousands ahead. */
export const STREAM_BATCH_ITEMS = 128;
const NEWLINE = 0x0a;

/**
 * The instance's side of a streaming method's answer. Every message answers one pull of the
 * caller (the first answers the request itself) and carries the items produced since the last
 * one, one JSON value per line. An item goes out at once when a pull waits for it; otherwise items
 * gather, up to {@linkcode STREAM_BATCH_BYTES} or {@linkcode STREAM_BATCH_ITEMS}, and the generator is not asked for more until a
 * pull comes: that is how a slow consumer slows the producer.
 */
export class ItemStream extends SessionBase {
  readonly #pulls: Msg[] = [];
  #batch: Uint8Array[] = [];
  #batchBytes = 0;
  /** How the stream ends, once decided: sent when a pull comes for it. */
  #end: { error?: WireError | undefined } | undefined;
  /** Set when the producer must stop: the caller went away, or a drain ended the stream. */
  #stop: string | undefined;
  #wake: (() => void) | undefined;
  readonly #onStop: (reason: string) => void;

  /**
   * @param request the request, answered with the first message.
   * @param onStop told why the producer must stop (its `ctx.signal` aborts).
   */
  constructor(init: SessionInit, request: Msg, onStop: (reason: string) => void) {
    super(init);
    this.#pulls.push(request);
    this.#onStop = onStop;
  }

  /** Why the producer stopped, if it did. */
  get stopReason(): string | undefined {
    return this.#stop;
  }

  /** Resolves true once the producer may produce one more item, false when it must stop. */
  room(): Promise<boolean> | boolean {
    if (this.#stop !== undefined || this.isClosed) return false;
    if (this.#hasRoom()) return true;
    return new Promise((resolve) => {
      this.#wake = () => resolve(this.#stop === undefined && !this.isClosed && this.#hasRoom());
    });
  }

  #hasRoom(): boolean {
    return this.#batchBytes < STREAM_BATCH_BYTES && this.#batch.length < STREAM_BATCH_ITEMS;
  }

  /** One item, JSON-encoded: sent now if a pull waits, else kept for the next one. */
  push(item: Uint8Array): void {
    if (this.isClosed) return;
    this.#batch.push(item);
    this.#batchBytes += item.length + 1;
    this.#flush();
  }

  /** The producer is done: the items kept go out, then the end (or `error`). */
  finish(error?: WireError): void {
    this.#end ??= { error };
    this.#flush();
  }

  override fail(error: WireError): void {
    if (this.isClosed) return;
    this.#end = { error };
    this.#halt("the stream was ended by a drain");
    this.#flush();
  }

  override receive(msg: Msg, cancel: string | undefined): void {
    if (cancel !== undefined) {
      this.stopped(`the caller cancelled: ${cancel}`);
      return;
    }
    this.callerCame();
    this.#pulls.push(msg);
    this.#flush();
    this.#wakeProducer();
  }

  protected override stopped(reason: string): void {
    this.#halt(reason);
    this.close();
  }

  #halt(reason: string): void {
    if (this.#stop !== undefined) return;
    this.#stop = reason;
    this.#onStop(reason);
    this.#wakeProducer();
  }

  #wakeProducer(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }

  #flush(): void {
    while (!this.isClosed && this.#pulls.length > 0) {
      if (this.#batch.length > 0) {
        const last = this.#end !== undefined && this.#end.error === undefined;
        this.send(this.#pulls.shift()!, this.#takeBatch(), { end: last });
        if (last) this.close();
      } else if (this.#end !== undefined) {
        this.send(this.#pulls.shift()!, new Uint8Array(0), {
          end: true,
          ...(this.#end.error === undefined ? {} : { error: this.#end.error }),
        });
        this.close();
      } else {
        break;
      }
    }
    if (!this.isClosed && this.#pulls.length === 0) this.waitForCaller();
  }

  #takeBatch(): Uint8Array {
    const items = this.#batch;
    this.#batch = [];
    this.#batchBytes = 0;
    if (items.length === 1) return items[0]!;
    let size = items.length - 1;
    for (const item of items) size += item.length;
    const out = new Uint8Array(size);
    let at = 0;
    for (let i = 0; i < items.length; i++) {
      if (i > 0) out[at++] = NEWLINE;
      out.set(items[i]!, at);
      at += items[i]!.length;
    }
    return out;
  }
}
