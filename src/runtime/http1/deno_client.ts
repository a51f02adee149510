/**
 * The Deno guard's I/O for one client connection (a `Deno.Conn`): reads for the request loop,
 * writes, and how the connection stops, refuses and lingers.
 * @module
 */
import { LINGER_MS, LINGER_READ_BYTES } from "../guarded_connection.ts";
import type { GuardIo } from "../guarded_connection.ts";

/** What the guard uses of a `Deno.Conn`. */
export interface DenoConn {
  read(into: Uint8Array): Promise<number | null>;
  write(bytes: Uint8Array): Promise<number>;
  closeWrite(): Promise<void>;
  close(): void;
  setNoDelay(noDelay?: boolean): void;
}

const OPEN = 0, LINGERING = 1, CLOSED = 2;
const encoder = new TextEncoder();
const NO_MORE = Promise.resolve(null);

/** One client connection of the Deno guard. */
export class DenoClient implements GuardIo {
  readonly #conn: DenoConn;
  #state = OPEN;
  /** The read in flight, if any: a connection has one reader at a time. */
  #pending: Promise<number | null> | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;

  constructor(conn: DenoConn) {
    this.#conn = conn;
  }

  /** Whether requests are still read (not lingering or closed). */
  get canAnswer(): boolean {
    return this.#state === OPEN;
  }

  /**
   * Reads into `into` for the request loop (rejects when the connection fails); once the
   * connection stopped reading, null. A read still in flight then may still deliver bytes: the
   * loop checks {@linkcode canAnswer} after each.
   */
  readonly read = (into: Uint8Array): Promise<number | null> => {
    if (this.#state !== OPEN) return NO_MORE;
    return this.#pending = this.#conn.read(into);
  };

  /** Writes all of `bytes`; false (and the connection closed) when the client is gone. */
  readonly write = async (bytes: Uint8Array): Promise<boolean> => {
    if (this.#state === CLOSED) return false;
    try {
      for (let at = 0; at < bytes.length;) {
        at += await this.#conn.write(at === 0 ? bytes : bytes.subarray(at));
      }
      return true;
    } catch {
      this.destroy();
      return false;
    }
  };

  stopReading(): void {
    if (this.#state !== OPEN) return;
    this.#state = LINGERING;
    void this.#linger();
  }

  refuse(answer: string): void {
    if (this.#state !== OPEN) return;
    this.#state = LINGERING;
    void this.write(encoder.encode(answer)).then((ok) => {
      if (ok) return this.#linger();
    });
  }

  destroy(): void {
    if (this.#state === CLOSED) return;
    this.#state = CLOSED;
    clearTimeout(this.#timer);
    try {
      this.#conn.close();
    } catch {
      // already closed by the runtime
    }
  }

  /**
   * Ends the write side once the answer is out, then reads and drops at most LINGER_READ_BYTES
   * (a client that sent a little more than was read gets no reset instead of the answer; an
   * upload stalls); closes at the client's end, or LINGER_MS later.
   */
  async #linger(): Promise<void> {
    this.#timer = setTimeout(() => this.destroy(), LINGER_MS);
    try {
      await this.#conn.closeWrite();
    } catch {
      return this.destroy();
    }
    let dropped = 0;
    const scratch = new Uint8Array(16 * 1024);
    while (this.#state === LINGERING && dropped <= LINGER_READ_BYTES) {
      let n: number | null;
      try {
        n = await (this.#pending ?? this.#conn.read(scratch));
      } catch {
        n = null;
      }
      this.#pending = undefined;
      if (n === null) return this.destroy();
      dropped += n;
    }
  }
}
