/**
 * The node:net guard's I/O for one client connection: the client socket, the loopback connection
 * to the backend it is piped to, and how the connection stops, refuses and lingers.
 * @module
 */
import type { Buffer } from "node:buffer";
import { connect } from "node:net";
import type { Socket } from "node:net";
import { LINGER_MS, LINGER_READ_BYTES } from "./guarded_connection.ts";
import type { GuardIo } from "./guarded_connection.ts";

/** Where the backend listens, and the address its connections leave from. */
export interface BackendAddress {
  port: number;
  host: string;
  localAddress: string;
}

/** A client socket of the node:net guard and its backend connection, once there is one. */
export class ProxiedClient implements GuardIo {
  readonly client: Socket;
  backend: Socket | undefined;
  /** The guard's end of the loopback connection, once connected. */
  localPort: number | undefined;
  readonly #to: BackendAddress;
  #lingering = false;
  #timer: ReturnType<typeof setTimeout> | undefined;

  constructor(client: Socket, to: BackendAddress) {
    this.client = client;
    this.#to = to;
  }

  get canAnswer(): boolean {
    return this.client.writable;
  }

  /**
   * Opens the backend connection; once connected, writes what `connected` returns (the first
   * head, and what came since) and pipes both ways. `closed` runs when the backend ends or resets.
   */
  connect(connected: (localPort: number) => Buffer[], closed: () => void): void {
    const { client } = this;
    client.pause();
    const backend = connect({ ...this.#to, noDelay: true });
    this.backend = backend;
    backend.on("error", closed);
    backend.on("close", closed);
    backend.once("connect", () => {
      this.localPort = backend.localPort!;
      for (const chunk of connected(this.localPort)) backend.write(chunk);
      if (this.#lingering) return;
      client.pipe(backend);
      backend.pipe(client);
      client.resume();
    });
  }

  /**
   * The backend ended its side (a `Connection: close` answer, a shutdown) or reset it (Bun closes
   * at once when it answers with an upload unread): end the client's gracefully, so what was piped
   * to it is still delivered; with `closing`, close as soon as the last bytes are flushed.
   */
  endAfterBackend(closing: boolean): void {
    const { client } = this;
    if (this.backend !== undefined) client.unpipe(this.backend);
    this.#linger();
    if (closing) client.end(() => client.destroy());
    else client.end();
  }

  stopReading(): void {
    const { client, backend } = this;
    if (backend !== undefined) {
      client.unpipe(backend);
      // The backend is told the request ended: it writes its answer and closes.
      backend.end();
    }
    this.#linger();
  }

  refuse(answer: string): void {
    this.backend?.destroy();
    this.#linger();
    this.client.end(answer);
  }

  destroy(): void {
    clearTimeout(this.#timer);
    this.client.destroy();
    this.backend?.destroy();
  }

  /** Reads and drops at most LINGER_READ_BYTES more (so a client that sent a little more gets no reset), cut after LINGER_MS. */
  #linger(): void {
    if (this.#lingering) return;
    this.#lingering = true;
    const { client } = this;
    this.#timer = setTimeout(() => this.destroy(), LINGER_MS);
    let dropped = 0;
    client.on("data", (chunk: Buffer) => {
      dropped += chunk.length;
      if (dropped > LINGER_READ_BYTES) client.pause();
    });
    client.resume();
  }
}
