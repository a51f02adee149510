/**
 * A `node:net` or `node:tls` socket seen as the connection the Deno guard's HTTP/1.1 server reads
 * and writes (`DenoConn`): reads pull what arrived (the socket is paused while nothing is asked
 * for, so an unread upload stalls in the kernel's buffers), writes resolve once flushed.
 * @module
 */
import type { Socket } from "node:net";
import type { DenoConn } from "./deno_client.ts";

/** One socket as a {@linkcode DenoConn}. */
export class SocketConn implements DenoConn {
  readonly #socket: Socket;
  readonly #arrived: Uint8Array[] = [];
  #ended = false;
  #failure: Error | undefined;
  #wake: (() => void) | undefined;

  constructor(socket: Socket) {
    this.#socket = socket;
    socket.pause();
    socket.on("data", (chunk: Uint8Array) => {
      this.#arrived.push(chunk);
      socket.pause();
      this.#wake?.();
    });
    const end = () => {
      this.#ended = true;
      this.#wake?.();
    };
    socket.on("end", end);
    socket.on("close", end);
    socket.on("error", (err: Error) => {
      this.#failure = err;
      end();
    });
  }

  async read(into: Uint8Array): Promise<number | null> {
    while (this.#arrived.length === 0) {
      if (this.#failure !== undefined) throw this.#failure;
      if (this.#ended) return null;
      const more = new Promise<void>((resolve) => this.#wake = resolve);
      this.#socket.resume();
      await more;
      this.#wake = undefined;
    }
    const first = this.#arrived[0]!;
    const n = Math.min(first.length, into.length);
    into.set(n === first.length ? first : first.subarray(0, n));
    if (n === first.length) this.#arrived.shift();
    else this.#arrived[0] = first.subarray(n);
    return n;
  }

  write(bytes: Uint8Array): Promise<number> {
    return new Promise((resolve, reject) => {
      // The caller reuses `bytes` once this resolves: the callback runs when they are flushed.
      this.#socket.write(
        bytes,
        (err) => err === undefined || err === null ? resolve(bytes.length) : reject(err),
      );
    });
  }

  closeWrite(): Promise<void> {
    this.#socket.end();
    return Promise.resolve();
  }

  close(): void {
    this.#socket.destroy();
  }

  setNoDelay(noDelay = true): void {
    this.#socket.setNoDelay(noDelay);
  }
}
