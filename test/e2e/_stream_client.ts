import { Buffer } from "node:buffer";
import { connect } from "node:net";
import type { Socket } from "node:net";

/** A streaming response read line by line with `fetch`. */
export interface FetchedStream {
  status: number;
  headers: Headers;
  /** The next line of the body (without its newline); `undefined` at the end. */
  nextLine(): Promise<string | undefined>;
  /** Every line left. */
  rest(): Promise<string[]>;
  /** Goes away: aborts the request and its body. */
  abort(): void;
}

/** POSTs JSON `body` to `url` and reads the answer line by line as it comes. */
export async function fetchStream(
  url: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<FetchedStream> {
  const controller = new AbortController();
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
    signal: controller.signal,
  });
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let text = "";
  let done = false;
  const nextLine = async (): Promise<string | undefined> => {
    for (;;) {
      const at = text.indexOf("\n");
      if (at >= 0) {
        const line = text.slice(0, at);
        text = text.slice(at + 1);
        return line;
      }
      if (done) {
        const last = text;
        text = "";
        return last === "" ? undefined : last;
      }
      const chunk = await reader.read();
      if (chunk.done) done = true;
      else text += decoder.decode(chunk.value, { stream: true });
    }
  };
  return {
    status: res.status,
    headers: res.headers,
    nextLine,
    async rest() {
      const lines: string[] = [];
      for (let line = await nextLine(); line !== undefined; line = await nextLine()) lines.push(line);
      return lines;
    },
    abort: () => controller.abort(),
  };
}

/** The `data:` payloads of SSE text, by event name (`message` for unnamed events). */
export function parseSse(text: string): { event: string; data: string }[] {
  const out: { event: string; data: string }[] = [];
  for (const block of text.split("\n\n")) {
    if (block.trim() === "") continue;
    let event = "message";
    const data: string[] = [];
    for (const line of block.split("\n")) {
      if (line.startsWith("event: ")) event = line.slice(7);
      else if (line.startsWith("data: ")) data.push(line.slice(6));
    }
    out.push({ event, data: data.join("\n") });
  }
  return out;
}

/**
 * A client over a raw TCP socket that reads only when asked: between two `nextLine()` calls it
 * reads nothing from the socket, so the server's writes back up as they would for a slow client.
 * Decodes a chunked body.
 */
export class SlowReader {
  readonly #socket: Socket;
  #raw = Buffer.alloc(0);
  #headDone = false;
  #status = 0;
  #chunkLeft = -1;
  #text = "";
  readonly #decoder = new TextDecoder();
  #ended = false;
  #wake: (() => void) | undefined;
  /** Body bytes received so far. */
  bodyBytes = 0;

  private constructor(socket: Socket) {
    this.#socket = socket;
    socket.on("data", (data: Buffer) => {
      this.#raw = Buffer.concat([this.#raw, data]);
      this.#parse();
      // Enough for the next line: stop reading until it is asked for.
      if (this.#text.includes("\n")) socket.pause();
      this.#poke();
    });
    const end = () => {
      this.#ended = true;
      this.#poke();
    };
    socket.on("end", end);
    socket.on("close", end);
    socket.on("error", end);
  }

  /** Connects, sends a POST of `body` to `path`, and waits for the response head. */
  static async open(port: number, path: string, body: unknown): Promise<SlowReader> {
    const socket = connect(port, "127.0.0.1");
    const reader = new SlowReader(socket);
    const payload = Buffer.from(JSON.stringify(body));
    socket.write(
      `POST ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\ncontent-type: application/json\r\ncontent-length: ${payload.length}\r\n\r\n`,
    );
    socket.write(payload);
    while (!reader.#headDone && !reader.#ended) await reader.#waitData();
    return reader;
  }

  get status(): number {
    return this.#status;
  }

  /** The next body line, reading from the socket only as much as that takes. */
  async nextLine(): Promise<string | undefined> {
    for (;;) {
      const at = this.#text.indexOf("\n");
      if (at >= 0) {
        const line = this.#text.slice(0, at);
        this.#text = this.#text.slice(at + 1);
        return line;
      }
      if (this.#ended || this.#chunkLeft === -2) return undefined;
      this.#socket.resume();
      await this.#waitData();
    }
  }

  /** Goes away without reading the rest. */
  close(): void {
    this.#socket.destroy();
  }

  #waitData(): Promise<void> {
    return new Promise((resolve) => this.#wake = resolve);
  }

  #poke(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }

  #parse(): void {
    if (!this.#headDone) {
      const end = this.#raw.indexOf("\r\n\r\n");
      if (end < 0) return;
      this.#status = Number(
        /^HTTP\/1\.1 (\d{3})/.exec(this.#raw.subarray(0, end).toString("latin1"))?.[1] ?? 0,
      );
      this.#raw = this.#raw.subarray(end + 4);
      this.#headDone = true;
      this.#chunkLeft = 0;
    }
    // Chunked transfer coding: `<hex size>\r\n<bytes>\r\n`, ended by a chunk of size 0.
    for (;;) {
      if (this.#chunkLeft === -2) return;
      if (this.#chunkLeft === 0) {
        const eol = this.#raw.indexOf("\r\n");
        if (eol < 0) return;
        const line = this.#raw.subarray(0, eol).toString("latin1");
        this.#raw = this.#raw.subarray(eol + 2);
        if (line === "") continue; // the CRLF after a chunk's data
        const size = Number.parseInt(line, 16);
        if (size === 0) {
          this.#chunkLeft = -2;
          return;
        }
        this.#chunkLeft = size;
      }
      if (this.#raw.length === 0) return;
      const take = Math.min(this.#chunkLeft, this.#raw.length);
      this.#text += this.#decoder.decode(this.#raw.subarray(0, take), { stream: true });
      this.bodyBytes += take;
      this.#raw = this.#raw.subarray(take);
      this.#chunkLeft -= take;
    }
  }
}
