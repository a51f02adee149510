/** One streaming response being written. */
interface ActiveStream {
  readonly plugin: string;
  abort(error: Error): void;
}

/**
 * The streaming responses the router is writing, by plugin, so that a drain that runs out of
 * time can end them (with a `draining` error item) like it fails the requests still waiting for
 * their reply. Their in-flight count is the tracker's; this only reaches them.
 */
export class ActiveStreams {
  readonly #streams = new Set<ActiveStream>();

  /** Streams being written now. */
  get size(): number {
    return this.#streams.size;
  }

  /**
   * Adds a stream of `plugin`; `abort` ends it with the error given.
   * @returns the function that removes it (call it when the stream ended).
   */
  add(plugin: string, abort: (error: Error) => void): () => void {
    const entry: ActiveStream = { plugin, abort };
    this.#streams.add(entry);
    return () => this.#streams.delete(entry);
  }

  /** Ends the streams of `plugin` (of every plugin when `undefined`) with `error()`; returns how many. */
  abortWhere(plugin: string | undefined, error: () => Error): number {
    let n = 0;
    for (const s of [...this.#streams]) {
      if (plugin !== undefined && s.plugin !== plugin) continue;
      this.#streams.delete(s);
      s.abort(error());
      n++;
    }
    return n;
  }
}
