/** Reads a Server-Sent Events stream of JSON `data:` lines, one event at a time. */
export class SseReader {
  readonly #reader: ReadableStreamDefaultReader<Uint8Array>;
  readonly #decoder = new TextDecoder();
  #buffered = "";
  /** Events read so far. */
  count = 0;

  constructor(res: Response) {
    this.#reader = res.body!.getReader();
  }

  /** The next event's parsed data, or `undefined` when the stream ended. */
  async next(): Promise<unknown> {
    for (;;) {
      const at = this.#buffered.indexOf("\n\n");
      if (at >= 0) {
        const block = this.#buffered.slice(0, at);
        this.#buffered = this.#buffered.slice(at + 2);
        const data = block.split("\n").filter((l) => l.startsWith("data: ")).map((l) => l.slice(6)).join(
          "\n",
        );
        if (data === "") continue;
        this.count++;
        return JSON.parse(data);
      }
      const { value, done } = await this.#reader.read();
      if (done) return undefined;
      this.#buffered += this.#decoder.decode(value, { stream: true });
    }
  }

  /** Reads events until `check` holds for one (returned), failing after `timeoutMs`. */
  async until<T>(check: (event: T) => boolean, timeoutMs: number, what: string): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    let last: T | undefined;
    for (;;) {
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new Error(
          `no event with ${what} within ${timeoutMs} ms; the last: ${JSON.stringify(last)?.slice(0, 2_000)}`,
        );
      }
      let timer: ReturnType<typeof setTimeout> | undefined;
      const event = await Promise.race([
        this.next(),
        new Promise<"timeout">((resolve) => timer = setTimeout(() => resolve("timeout"), left)),
      ]);
      clearTimeout(timer);
      if (event === "timeout") continue;
      if (event === undefined) throw new Error(`the stream ended before an event with ${what}`);
      last = event as T;
      if (check(last)) return last;
    }
  }

  async close(): Promise<void> {
    await this.#reader.cancel().catch(() => {});
  }
}
