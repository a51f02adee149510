/**
 * A hand-written request/reply mux over one NATS connection: ONE wildcard reply subscription
 * (`_INBOX.<nuid>.*`, callback style) and a Map of pending requests keyed by a counter token.
 * Timeouts are swept by one interval timer instead of a timer per request: the Map keeps insertion
 * order and every request gets the same timeout, so the oldest entries expire first.
 * @module
 */
import { nuid } from "@nats-io/transport-node";
import type { Msg, NatsConnection } from "@nats-io/transport-node";

interface Pending {
  resolve(data: Uint8Array): void;
  reject(err: Error): void;
  deadline: number;
}

/** Why a muxed request failed: `timeout` or `no_responders`. */
export class MuxRequestError extends Error {
  readonly code: "timeout" | "no_responders";
  constructor(code: "timeout" | "no_responders", subject: string) {
    super(`Request to "${subject}" failed: ${code}`);
    this.name = "MuxRequestError";
    this.code = code;
  }
}

/** Request/reply over a shared wildcard inbox. */
export class RequestMux {
  readonly #nc: NatsConnection;
  readonly #inbox = `_INBOX.${nuid.next()}.`;
  readonly #pending = new Map<number, Pending>();
  readonly #timeoutMs: number;
  readonly #sweeper: ReturnType<typeof setInterval>;
  #next = 0;

  constructor(nc: NatsConnection, timeoutMs: number) {
    this.#nc = nc;
    this.#timeoutMs = timeoutMs;
    nc.subscribe(`${this.#inbox}*`, { callback: (_err, msg) => this.#onReply(msg) });
    this.#sweeper = setInterval(() => this.#sweep(), Math.max(10, Math.min(250, timeoutMs / 4)));
  }

  /** Publishes `data` to `subject` and resolves with the reply payload. */
  request(subject: string, data: Uint8Array): Promise<Uint8Array> {
    const token = ++this.#next;
    return new Promise<Uint8Array>((resolve, reject) => {
      const deadline = performance.now() + this.#timeoutMs;
      this.#pending.set(token, { resolve, reject: (e) => reject(e), deadline });
      this.#nc.publish(subject, data, { reply: this.#inbox + token });
    });
  }

  /** Stops the sweeper and fails every pending request. */
  close(): void {
    clearInterval(this.#sweeper);
    for (const [token, p] of this.#pending) {
      this.#pending.delete(token);
      p.reject(new MuxRequestError("timeout", "closed"));
    }
  }

  #onReply(msg: Msg): void {
    const token = Number(msg.subject.slice(this.#inbox.length));
    const p = this.#pending.get(token);
    if (p === undefined) return; // late reply after a timeout
    this.#pending.delete(token);
    // the server answers a request nobody listens to with an empty 503 status message
    if (msg.data.length === 0 && msg.headers?.code === 503) {
      p.reject(new MuxRequestError("no_responders", msg.subject));
    } else {
      p.resolve(msg.data);
    }
  }

  #sweep(): void {
    const now = performance.now();
    for (const [token, p] of this.#pending) {
      if (p.deadline > now) break;
      this.#pending.delete(token);
      p.reject(new MuxRequestError("timeout", String(token)));
    }
  }
}
