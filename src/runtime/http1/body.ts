/**
 * HTTP/1.1 request bodies read off a connection: a declared length, or the chunked coding,
 * decoded strictly (a size line of hex digits and an optional extension, CRLF after each chunk,
 * trailers up to a blank line, each line and the trailers bounded). A body that breaks off or is
 * malformed errors its stream; the router answers 400 and the connection closes.
 * @module
 */
import type { InputBuffer } from "./input.ts";

/** The longest chunk-size line, extensions included. */
const MAX_SIZE_LINE = 1024;
/** The most trailer bytes taken after the last chunk. */
const MAX_TRAILER_BYTES = 16 * 1024;
// deno-lint-ignore no-control-regex -- an extension may hold anything but control bytes
const CHUNK_SIZE = /^([0-9A-Fa-f]{1,12})[ \t]*(?:;[^\x00-\x08\x0a-\x1f\x7f]*)?$/;

/** The body of one request as it is read: `next()` gives its bytes piece by piece, then null. */
export interface BodySource {
  /** Whether the body was read to its end (the connection is at the next request). */
  readonly done: boolean;
  next(): Promise<Uint8Array | null>;
}

/** Why a body could not be read: it broke off, or its framing is malformed. */
export class BodyError extends Error {
  override readonly name = "BodyError";
}

const brokeOff = () => new BodyError("The connection ended before the body was complete");

/** A body of `length` bytes. */
export class FixedLengthBody implements BodySource {
  #remaining: number;
  readonly #input: InputBuffer;

  constructor(input: InputBuffer, length: number) {
    this.#input = input;
    this.#remaining = length;
  }

  get done(): boolean {
    return this.#remaining === 0;
  }

  async next(): Promise<Uint8Array | null> {
    if (this.#remaining === 0) return null;
    const input = this.#input;
    if (input.size === 0 && !(await input.fill())) throw brokeOff();
    const piece = input.take(Math.min(input.size, this.#remaining));
    this.#remaining -= piece.length;
    return piece;
  }
}

const SIZE = 0, DATA = 1, DATA_END = 2, TRAILERS = 3, DONE = 4;

/** A body in the chunked transfer coding. */
export class ChunkedBody implements BodySource {
  #state = SIZE;
  #remaining = 0;
  #trailerBytes = 0;
  readonly #input: InputBuffer;

  constructor(input: InputBuffer) {
    this.#input = input;
  }

  get done(): boolean {
    return this.#state === DONE;
  }

  async next(): Promise<Uint8Array | null> {
    const input = this.#input;
    for (;;) {
      switch (this.#state) {
        case SIZE: {
          const line = await this.#line(MAX_SIZE_LINE);
          const m = CHUNK_SIZE.exec(line);
          if (m === null) throw new BodyError("A chunk size is malformed");
          this.#remaining = parseInt(m[1]!, 16);
          this.#state = this.#remaining === 0 ? TRAILERS : DATA;
          break;
        }
        case DATA: {
          if (input.size === 0 && !(await input.fill())) throw brokeOff();
          const piece = input.take(Math.min(input.size, this.#remaining));
          this.#remaining -= piece.length;
          if (this.#remaining === 0) this.#state = DATA_END;
          return piece;
        }
        case DATA_END:
          while (input.size < 2) if (!(await input.fill())) throw brokeOff();
          if (input.peek(0) !== 13 || input.peek(1) !== 10) {
            throw new BodyError("A chunk does not end with CRLF");
          }
          input.skip(2);
          this.#state = SIZE;
          break;
        case TRAILERS: {
          const line = await this.#line(MAX_TRAILER_BYTES - this.#trailerBytes);
          this.#trailerBytes += line.length + 2;
          if (line === "") this.#state = DONE;
          else if (line.indexOf(":") <= 0) throw new BodyError("A trailer field is malformed");
          break;
        }
        default:
          return null;
      }
    }
  }

  /** The next line (without its CRLF), consumed; at most `max` bytes long. */
  async #line(max: number): Promise<string> {
    const input = this.#input;
    for (;;) {
      const end = input.lineEnd();
      if (end !== -1) {
        if (end > max) break;
        const line = input.takeLatin1(end);
        input.skip(2);
        return line;
      }
      if (input.size > max + 1) break;
      if (!(await input.fill())) throw brokeOff();
    }
    throw new BodyError("A chunk-size or trailer line is too long");
  }
}

/**
 * The body as a stream that reads only when read (no read ahead): an answer given before the body
 * is read costs none of it. `beforeFirstRead` runs once, before the first read (to send `100 Continue`).
 */
export function bodyStream(
  source: BodySource,
  beforeFirstRead?: () => Promise<void>,
): ReadableStream<Uint8Array> {
  let first = beforeFirstRead;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        if (first !== undefined) {
          const go = first;
          first = undefined;
          await go();
        }
        const piece = await source.next();
        if (piece === null) controller.close();
        else controller.enqueue(piece);
      } catch (err) {
        controller.error(err);
      }
    },
  }, { highWaterMark: 0 });
}
