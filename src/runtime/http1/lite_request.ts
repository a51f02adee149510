/**
 * The request the guard's HTTP/1.1 server hands the router on Deno: the part of a web `Request`
 * that Hono and the router read (url, method, headers, body, bodyUsed, the body readers, signal),
 * made without one. A `Request` built in JavaScript costs Deno 7-17 µs and survives minor
 * collections (bench/RESULTS.md, "The connection guard on Deno"); this costs the object and its
 * `Headers`. `clone()` makes a real `Request`.
 * @module
 */

const EMPTY = new ArrayBuffer(0);
const decoder = new TextDecoder();

/** A body: its bytes when all of them arrived with the head, else a maker of the stream that reads them. */
export type LiteBody =
  | Uint8Array<ArrayBuffer>
  | ((onFirstRead: () => void) => ReadableStream<Uint8Array>)
  | undefined;

/** A request as the router reads it; pass it where a `Request` is expected. */
export class LiteRequest {
  readonly url: string;
  readonly method: string;
  readonly headers: Headers;
  #bytes: Uint8Array<ArrayBuffer> | undefined;
  #makeStream: ((onFirstRead: () => void) => ReadableStream<Uint8Array>) | undefined;
  #stream: ReadableStream<Uint8Array> | null | undefined;
  /** Whether the body was read from; replaced by a fresh one for the body's own branch at `clone()`. */
  #used: { value: boolean } = { value: false };
  #signal: AbortSignal | undefined;

  /** `url` must parse (`URL.canParse`). */
  constructor(url: string, method: string, headers: Headers, body: LiteBody) {
    this.url = url;
    this.method = method;
    this.headers = headers;
    if (body instanceof Uint8Array) this.#bytes = body;
    else this.#makeStream = body;
  }

  /** The body as a stream, made when first asked for; null without a body. */
  get body(): ReadableStream<Uint8Array> | null {
    if (this.#stream !== undefined) return this.#stream;
    const bytes = this.#bytes;
    const make = this.#makeStream;
    this.#bytes = this.#makeStream = undefined;
    const used = this.#used;
    if (bytes !== undefined) {
      this.#stream = new ReadableStream<Uint8Array>({
        pull: (controller) => {
          used.value = true;
          controller.enqueue(bytes);
          controller.close();
        },
      }, { highWaterMark: 0 });
    } else {
      this.#stream = make === undefined ? null : make(() => used.value = true);
    }
    return this.#stream;
  }

  /** True once the body was read from, as a `Request`'s is once its stream is disturbed. */
  get bodyUsed(): boolean {
    return this.#used.value;
  }

  /** Never aborts, as a `Request` made without a signal. */
  get signal(): AbortSignal {
    return this.#signal ??= new AbortController().signal;
  }

  arrayBuffer(): Promise<ArrayBuffer> {
    if (this.#used.value) return Promise.reject(new TypeError("Body already consumed"));
    const bytes = this.#bytes;
    if (bytes !== undefined && this.#stream === undefined) {
      // `InputBuffer.take()` copies a body out into an ArrayBuffer of its own, exactly its size.
      this.#used.value = true;
      this.#bytes = undefined;
      return Promise.resolve(
        bytes.byteLength === bytes.buffer.byteLength ? bytes.buffer : bytes.slice().buffer,
      );
    }
    const body = this.body;
    if (body === null) {
      this.#used.value = true;
      return Promise.resolve(EMPTY);
    }
    return new Response(body).arrayBuffer();
  }

  async bytes(): Promise<Uint8Array<ArrayBuffer>> {
    return new Uint8Array(await this.arrayBuffer());
  }

  async text(): Promise<string> {
    return decoder.decode(await this.arrayBuffer());
  }

  async json(): Promise<unknown> {
    return JSON.parse(await this.text());
  }

  blob(): Promise<Blob> {
    return this.#response().blob();
  }

  formData(): Promise<FormData> {
    return this.#response().formData();
  }

  /** A real `Request` with the same head, the body shared through a tee. */
  clone(): Request {
    const body = this.body;
    let copy: ReadableStream<Uint8Array> | null = null;
    if (body !== null) {
      let mine: ReadableStream<Uint8Array>;
      [mine, copy] = body.tee();
      const used: { value: boolean } = this.#used = { value: false };
      this.#stream = markedOnRead(mine, () => used.value = true);
    }
    return new Request(
      this.url,
      { method: this.method, headers: this.headers, body: copy, duplex: "half" } as RequestInit,
    );
  }

  #response(): Response {
    if (this.#used.value) throw new TypeError("Body already consumed");
    const type = this.headers.get("content-type");
    return new Response(this.body, type === null ? undefined : { headers: { "content-type": type } });
  }
}

/** `stream`, read through a stream that calls `onRead` at each read. */
function markedOnRead(stream: ReadableStream<Uint8Array>, onRead: () => void): ReadableStream<Uint8Array> {
  const reader = stream.getReader();
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      onRead();
      const { done, value } = await reader.read();
      if (done) controller.close();
      else controller.enqueue(value);
    },
    cancel: (reason) => reader.cancel(reason),
  }, { highWaterMark: 0 });
}
