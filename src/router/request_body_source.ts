import { ErrorCode, isSwitchyardError, SwitchyardError } from "../errors.ts";
import type { BodySource } from "../bus/mod.ts";
import { concatBytes } from "../bytes.ts";
import { type ReadDeadlines, tooLarge } from "./read_body.ts";

const noop = () => {};

/**
 * An HTTP request body too large for one NATS message, read chunk by chunk as the pipeline sends it
 * (`Call.body`), never whole: the router holds the first chunk (kept for a resend after no
 * responders) and one more, which is refilled only after the instance acknowledged the chunk before
 * it, so a client uploading faster than the plugin takes the input is slowed down by TCP. The whole
 * body must arrive within `timeoutMs` of the source's creation, as a body read whole must.
 *
 * A body without `Content-Length` (`size` undefined) is counted against `limit` as it comes; its end
 * is found by reading one piece ahead, so the chunk that ends it goes out marked as the last.
 */
export class RequestBodySource implements BodySource {
  readonly size: number | undefined;
  readonly #req: Request;
  readonly #reader: ReadableStreamDefaultReader<Uint8Array>;
  readonly #deadlines: ReadDeadlines;
  readonly #deadline: number;
  readonly #timeoutMs: number;
  readonly #limit: number;
  #first: Uint8Array | undefined;
  #buffer: Uint8Array | undefined;
  /** Pieces the runtime handed over and not yet taken (the rest of the last one, or what {@linkcode readWhole} read ahead). */
  readonly #pieces: Uint8Array[] = [];
  /** Bytes taken from the HTTP body so far. */
  #taken = 0;
  /** Bytes read from the HTTP body so far (taken, or waiting in `#pieces`). */
  #read = 0;
  /** The runtime said the body is over. */
  #done = false;

  /**
   * @param size the request's `Content-Length`, checked against the body limit already; `undefined`
   *   for a body without one.
   * @param limit the body limit a body without `Content-Length` is held to as it streams.
   */
  constructor(
    req: Request,
    size: number | undefined,
    deadlines: ReadDeadlines,
    timeoutMs: number,
    limit = Infinity,
  ) {
    this.#req = req;
    this.size = size;
    this.#reader = req.body!.getReader();
    this.#deadlines = deadlines;
    this.#timeoutMs = timeoutMs;
    this.#deadline = Date.now() + timeoutMs;
    this.#limit = limit;
  }

  /** True once every byte of the body was read. */
  get complete(): boolean {
    return this.size === undefined ? this.#done && this.#pieces.length === 0 : this.#taken === this.size;
  }

  get ended(): boolean {
    return this.complete;
  }

  /**
   * For a body without `Content-Length`: reads it whole when it has at most `max` bytes (the body;
   * the source is spent then); otherwise `undefined`, and what was read waits for the chunks.
   */
  async readWhole(max: number): Promise<Uint8Array | undefined> {
    while (!this.#done && this.#read <= max) await this.#pull();
    if (this.#read > max) return undefined;
    const body = concatBytes(this.#pieces, this.#read);
    this.#pieces.length = 0;
    this.#taken = this.#read;
    return body;
  }

  async read(at: number, n: number): Promise<Uint8Array> {
    if (at === 0) {
      this.#first ??= await this.#fill(new Uint8Array(this.size === undefined ? n : Math.min(n, this.size)));
      return this.#first;
    }
    if (at !== this.#taken) {
      throw new SwitchyardError(ErrorCode.Internal, "A request body was read out of order");
    }
    // Only refilled once the chunk before it was acknowledged: nothing still sends from it.
    this.#buffer ??= new Uint8Array(n);
    const len = this.size === undefined ? n : Math.min(n, this.size - at);
    return await this.#fill(len === this.#buffer.length ? this.#buffer : this.#buffer.subarray(0, len));
  }

  /** Stops reading (the request failed or was answered early): the runtime drops the rest. */
  cancel(): void {
    this.#reader.cancel().catch(noop);
  }

  /** Fills `out`; short only at the end of a body without `Content-Length`, whose end it then looks for. */
  async #fill(out: Uint8Array): Promise<Uint8Array> {
    let at = 0;
    while (at < out.length) {
      if (this.#pieces.length === 0) {
        if (this.#done) break;
        await this.#pull();
        continue;
      }
      const piece = this.#pieces[0]!;
      const take = Math.min(piece.length, out.length - at);
      out.set(take === piece.length ? piece : piece.subarray(0, take), at);
      if (take < piece.length) this.#pieces[0] = piece.subarray(take);
      else this.#pieces.shift();
      at += take;
    }
    if (at < out.length && this.size !== undefined) {
      this.cancel();
      throw new SwitchyardError(
        ErrorCode.InvalidRequest,
        "The request body is shorter than its Content-Length",
        {
          headers: { connection: "close" },
        },
      );
    }
    // Is this the last chunk? Known only once the next piece, or the end, came.
    while (this.size === undefined && !this.#done && this.#pieces.length === 0) await this.#pull();
    this.#taken += at;
    return at === out.length ? out : out.subarray(0, at);
  }

  /** Reads the next piece of the body into `#pieces`, or notes its end. */
  async #pull(): Promise<void> {
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
      this.#done = true;
      return;
    }
    this.#read += result.value.length;
    if (this.#read > this.#limit) {
      this.cancel();
      throw tooLarge(this.#limit);
    }
    if (result.value.length > 0) this.#pieces.push(result.value);
  }

  #timedOut(): SwitchyardError {
    return new SwitchyardError(
      ErrorCode.RequestTimeout,
      `The body did not arrive within ${this.#timeoutMs} ms`,
      { headers: { connection: "close" } },
    );
  }
}
