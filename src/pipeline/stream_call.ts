import { ErrorCode, SwitchyardError } from "../errors.ts";
import { H_INSTANCE, isBusError, isLastMessage, sessionSubject, StreamPull } from "../bus/mod.ts";
import type { BusReply } from "../bus/mod.ts";
import type { InstanceEntry } from "../registry/mod.ts";
import type { SendContext, Target } from "./types.ts";

/** Messages a stream's caller may hold at once, pulls outstanding included: the credit window. */
export const DEFAULT_STREAM_WINDOW = 8;

/** What a {@linkcode StreamCall} goes on from. */
export interface StreamCallOptions {
  readonly target: Target;
  /** The stream's first message, as the request's reply. */
  readonly first: BusReply;
  /** Epoch ms: the stream ends by then. */
  deadline: number;
  /** No message for this long ends the stream with `timeout`. */
  idleMs: number;
  /** @default {@linkcode DEFAULT_STREAM_WINDOW} */
  window?: number | undefined;
}

/**
 * The rest of a stream once its first message came (`RequestPipeline.openStream`): pulls the
 * following ones from the instance that sent it, with the credit window, an idle timeout and the
 * deadline. While it runs the instance counts a request in flight (least-pending balancing sees
 * it, and the stall watch asks a silent instance whether it is still there: one killed mid-stream
 * fails the stream within about a second). No retries here: items may have reached the client.
 */
export class StreamCall {
  /** The first message: items, the end, or an error reply (then there is no rest). */
  readonly first: BusReply;
  /** The instance serving the stream, as the registry knows it. */
  readonly instance: InstanceEntry | undefined;
  readonly #pipeline: SendContext;
  readonly #pull: StreamPull | undefined;
  #released = false;

  constructor(pipeline: SendContext, options: StreamCallOptions) {
    const { target, first } = options;
    this.#pipeline = pipeline;
    this.first = first;
    if (isLastMessage(first) || first.stream === "") {
      this.#released = true;
      return;
    }
    const subject = sessionSubject(pipeline.registry.prefix, target.plugin, first);
    this.#pull = new StreamPull(pipeline.mux, first, {
      subject,
      window: options.window ?? DEFAULT_STREAM_WINDOW,
      deadline: options.deadline,
      idleMs: options.idleMs,
      tag: target.plugin,
      clock: pipeline.clock,
    });
    const instance = pipeline.registry.instance(target.plugin, first.headers?.get(H_INSTANCE) ?? "");
    this.instance = instance;
    if (instance !== undefined) {
      instance.pending++;
      pipeline.stalls.watch(instance);
    }
  }

  /** True once the last message was taken, or the stream failed or was cancelled. */
  get done(): boolean {
    return this.#pull === undefined || this.#pull.done;
  }

  /**
   * The next message (an error reply ends the stream); `undefined` after the last.
   * @throws {SwitchyardError} `timeout` (idle or deadline), `draining` (the instance drained away,
   * or this side aborted it for a drain), `bad_plugin_response`; a bus error (`plugin_unavailable`)
   * when the instance is gone.
   */
  async next(): Promise<BusReply | undefined> {
    if (this.#pull === undefined) return undefined;
    try {
      const reply = await this.#pull.next();
      if (reply !== undefined && this.instance !== undefined) {
        this.instance.lastReplyAt = this.#pipeline.clock.now();
      }
      if (this.#pull.done) this.#release();
      return reply;
    } catch (err) {
      this.#release();
      // Gone after it announced its drain: the drain ended the stream, not a crash.
      if (
        isBusError(err) && (err.failure === "lost" || err.failure === "no_responders") &&
        this.instance?.draining === true
      ) {
        throw new SwitchyardError(ErrorCode.Draining, "The instance serving the stream is shutting down", {
          cause: err,
        });
      }
      throw err;
    }
  }

  /** Ends the stream from this side: the instance's handler is told (its `ctx.signal` aborts); a pending `next()` throws `error`. */
  cancel(reason: string, error?: Error): void {
    this.#pull?.cancel(reason, error);
    this.#release();
  }

  #release(): void {
    if (this.#released) return;
    this.#released = true;
    if (this.instance !== undefined) this.instance.pending--;
  }
}
