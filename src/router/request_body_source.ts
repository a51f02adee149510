import { ErrorCode, isSwitchyardError, SwitchyardError } from "../errors.ts";
import type { BodySource } from "../bus/mod.ts";
import type { ReadDeadlines } from "./read_body.ts";

const noop = () => {};

/**
 * An HTTP request body too large for one NATS message, read chunk by chunk as the pipeline sends it
 * (`Call.body`), never whole: the router holds the first chunk (kept for a resend after no
 * responders) and one more, which is refilled only after the instance acknowledged the chunk before
 * it, so a client uploading faster than the plugin takes the input is slowed down by TCP. The whole
 * body must arrive within `timeoutMs` of the source's creation, as a body read whole must.
 */
export class RequestBodySource implements BodySource {
  readonly size: number;
  readonly #req: Request;
  readonly #reader: ReadableStreamDefaultReader<Uint8Array>;
  readonly #deadlines: ReadDeadlines;
  readonly #deadline: number;
  readonly #timeoutMs: number;
  #first: Uint8Array | undefined;
  #buffer: Uint8Array | undefined;
  /** What is left of the last piece the runtime handed over. */
  #rest: Uint8Array | undefined;
  /** Bytes taken from the HTTP body so far. */
  #taken = 0;

  /** @param size the request's `Content-Length`, checked against the body limit already. */
  constructor(req: Request, size: number, deadlines: ReadDeadlines, timeoutMs: number) {
    this.#req = req;
    this.size = size;
    this.#reader = req.body!.getReader();
    this.#deadlines = deadlines;
    this.#timeoutMs = timeoutMs;
    this.#deadline = Date.now() + timeoutMs;
  }

  /** True once every byte of the body was read. */
  get complete(): boolean {
    return this.#taken === this.size;
  }

  async read(at: number, n: number): Promise<Uint8Array> {
    if (at === 0) {
      this.#first ??= await this.#fill(new Uint8Array(Math.min(n, this.size)));
      return this.#first;
    }
    if (at !== this.#taken) {
      throw new SwitchyardError(ErrorCode.Internal, "A request body was read out of order");
    }
    // Only refilled once the chunk before it was acknowledged: nothing still sends from it.
    this.#buffer ??= new Uint8Array(n);
    const len = Math.min(n, this.size - at);
    return await this.#fill(len === this.#buffer.length ? this.#buffer : this.#buffer.subarray(0, len));
  }

  /** Stops reading (the request failed or was answered early): the runtime drops the rest. */
  cancel(): void {
    this.#reader.cancel().catch(noop);
  }

  async #fill(out: Uint8Array): Promise<Uint8Array> {
    let at = 0;
    while (at < out.length) {
      let piece = this.#rest;
      this.#rest = undefined;
      if (piece === undefined) {
        const left = this.#deadline - Date.now();
        let result: ReadableStreamReadResult<Uint8Array>;
        try {
          if (left <= 0) throw this.#timedOut();
          result = await this.#deadlines.within(this.#req, left, this.#reader.read());
        } catch (err) {
          this.cancel();
          if (isSwitchyardError(err)) throw err;
          // The runtime's parser gave up on the body: bad chunking, a connection cut short.
          throw new SwitchyardError(ErrorCode.InvalidRequest, "The request body is malformed or incomplete", {
            cause: err,
            headers: { connection: "close" },
          });
        }
        if (result.done) {
          throw new SwitchyardError(
            ErrorCode.InvalidRequest,
            "The request body is shorter than its Content-Length",
            { headers: { connection: "close" } },
          );
        }
        piece = result.value;
      }
      const take = Math.min(piece.length, out.length - at);
      out.set(take === piece.length ? piece : piece.subarray(0, take), at);
      if (take < piece.length) this.#rest = piece.subarray(take);
      at += take;
    }
    this.#taken += out.length;
    return out;
  }

  #timedOut(): SwitchyardError {
    return new SwitchyardError(
      ErrorCode.RequestTimeout,
      `The body did not arrive within ${this.#timeoutMs} ms`,
      { headers: { connection: "close" } },
    );
  }
}
