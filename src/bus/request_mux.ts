import { setImmediate } from "node:timers";
import { createInbox } from "@nats-io/nats-core";
import type { Msg, MsgHdrs, NatsConnection, Subscription } from "@nats-io/nats-core";
import type { Clock, TimerId } from "../deps.ts";
import { systemClock } from "../deps.ts";
import { readHeaders } from "./wire_headers.ts";
import { replyOf } from "./wire_error.ts";
import type { BusReply } from "./wire_error.ts";
import { BusTimeoutError, DisconnectedError, NoRespondersError } from "./bus_errors.ts";

export type { BusReply } from "./wire_error.ts";

/** The key of a block on every request. */
const ALL: unique symbol = Symbol("all requests");

interface Pending {
  resolve(reply: BusReply): void;
  reject(err: Error): void;
  /** Epoch ms (on the mux's clock) after which the sweep fails it as a timeout. */
  deadline: number;
  timeoutMs: number;
  subject: string;
  tag: string | undefined;
}

/** NATS's default `max_payload` (1 MiB), assumed until the server says otherwise. */
export const DEFAULT_MAX_PAYLOAD = 1024 * 1024;

/** The longest delay timers take (2^31 - 1 ms, ~24.8 days): a longer one fires at once. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** A request waiting to be published: while the connection is down, or until the batch goes out. */
interface Held {
  token: string;
  subject: string;
  data: Uint8Array;
  headers: MsgHdrs | undefined;
}

/** Options of one {@linkcode RequestMux.request}. */
export interface MuxRequestOptions {
  headers?: MsgHdrs | undefined;
  timeoutMs: number;
  /** Who the request is for (the router tags requests with the plugin name), for {@linkcode RequestMux.block} and {@linkcode RequestMux.failWhere}. */
  tag?: string | undefined;
}

/** What {@linkcode RequestMux.failWhere} may look at to select a pending request. */
export interface PendingRequest {
  readonly subject: string;
  readonly tag: string | undefined;
}

/** Options of {@linkcode RequestMux}. */
export interface RequestMuxOptions {
  /** The connection's inbox prefix, where permissions restrict it. @default "_INBOX" */
  inboxPrefix?: string | undefined;
  /** Deadlines are on this clock. @default the system clock */
  clock?: Clock;
}

/**
 * Request/reply over one shared wildcard reply subscription and a map of pending requests.
 * Cheaper per request than `nc.request()`: no per-request subscription object, iterator, timer or
 * async stack trace, just a map entry and a promise. One timer, armed for the earliest deadline,
 * fails the requests whose deadline passed (a timer per request costs 1-4 µs to arm and clear,
 * depending on the runtime; a periodic sweep would run hundreds of times a second while anything is
 * pending, and wake an otherwise idle event loop as often while one slow request waits). With the
 * same timeout for every request, deadlines come in order and a request arms nothing: the timer is
 * re-armed only when it fires, or for a deadline earlier than its own.
 * Failures are typed bus errors (`bus_errors.ts`): no HTTP here.
 */
export class RequestMux {
  readonly #nc: NatsConnection;
  readonly #inbox: string;
  readonly #pending = new Map<string, Pending>();
  readonly #sub: Subscription;
  #seq = 0;
  /** Between a `disconnect` and the `reconnect` that follows it. */
  #down = false;
  #held: Held[] = [];
  /** Requests made during this turn of the event loop, published together at its end. */
  #batch: Held[] = [];
  readonly #flushBatch = () => this.#publishBatch();
  readonly #clock: Clock;
  /** The one timer, armed for the earliest deadline of the requests pending when it was set. */
  #sweeper: TimerId | undefined;
  /** The deadline {@linkcode RequestMux.#sweeper} fires at. */
  #sweepAt = Infinity;
  readonly #sweep = () => this.#expire();
  /** Tags whose new requests fail at once; `ALL` blocks every request. Empty on the hot path. */
  readonly #blocked = new Map<string | typeof ALL, () => Error>();

  constructor(nc: NatsConnection, options: RequestMuxOptions = {}) {
    this.#nc = nc;
    this.#clock = options.clock ?? systemClock;
    this.#inbox = `${createInbox(options.inboxPrefix)}.`;
    this.#sub = nc.subscribe(`${this.#inbox}*`, { callback: (_err, msg) => this.#onReply(msg) });
    nc.closed().then(() => this.#failAll("the NATS connection closed"));
    void this.#watchDisconnects();
  }

  /** Requests in flight. */
  get size(): number {
    return this.#pending.size;
  }

  /** The largest message the server takes (`max_payload`, headers included), as it last said. */
  get maxPayload(): number {
    return this.#nc.info?.max_payload ?? DEFAULT_MAX_PAYLOAD;
  }

  /**
   * Publishes a message that wants no reply (a stream's cancel). Dropped while the connection is
   * down: what it tells is moot once the connection's requests have failed.
   */
  publish(subject: string, data: Uint8Array, headers?: MsgHdrs): void {
    if (this.#down) return;
    try {
      this.#nc.publish(subject, data, headers === undefined ? undefined : { headers });
    } catch {
      // closed or draining: the other side's idle timeout ends what this would have ended
    }
  }

  /**
   * Publishes `data` to `subject` and resolves with the first reply (error replies included).
   * @throws {NoRespondersError} when no one listens (answered at once); {@linkcode BusTimeoutError};
   * {@linkcode DisconnectedError}; what {@linkcode RequestMux.failWhere} or a block gives.
   */
  request(subject: string, data: Uint8Array, options: MuxRequestOptions): Promise<BusReply> {
    if (this.#blocked.size > 0) {
      const blocked = this.#blocked.get(ALL) ?? (options.tag === undefined ? undefined : this.#blocked.get(options.tag));
      if (blocked !== undefined) return Promise.reject(blocked());
    }
    const token = (this.#seq++).toString(36);
    const pending = this.#pending;
    const tag = options.tag;
    const timeoutMs = options.timeoutMs;
    const deadline = this.#clock.now() + timeoutMs;
    if (deadline < this.#sweepAt) this.#arm(deadline);
    return new Promise<BusReply>((resolve, reject) => {
      pending.set(token, { resolve, reject, deadline, timeoutMs, subject, tag });
      if (this.#down) {
        this.#held.push({ token, subject, data, headers: options.headers });
        return;
      }
      if (pending.size > 1) {
        // Others are in flight: publish at the end of this event-loop turn, so that every request
        // that arrived in it leaves in one socket write instead of one write (a syscall) each.
        if (this.#batch.push({ token, subject, data, headers: options.headers }) === 1) setImmediate(this.#flushBatch);
        return;
      }
      try {
        this.#nc.publish(
          subject,
          data,
          options.headers === undefined ? { reply: this.#inbox + token } : { reply: this.#inbox + token, headers: options.headers },
        );
      } catch (err) {
        pending.delete(token);
        reject(new DisconnectedError(subject, `cannot publish (${err instanceof Error ? err.message : String(err)})`));
      }
    });
  }

  /**
   * Rejects the pending requests `test` selects with `error()` (they get no reply after that, even
   * if one arrives); returns how many. Walks every pending request: for rare events (a drain that
   * ran out of time, an instance that died), not for the request path.
   */
  failWhere(test: (request: PendingRequest) => boolean, error: (request: PendingRequest) => Error): number {
    let n = 0;
    for (const [token, p] of this.#pending) {
      if (!test(p)) continue;
      this.#pending.delete(token);
      p.reject(error(p));
      n++;
    }
    return n;
  }

  /**
   * From now on, new requests tagged `tag` (every request when `tag` is `undefined`) fail at once
   * with `error()`, until {@linkcode RequestMux.unblock}. Requests already pending are not touched.
   */
  block(tag: string | undefined, error: () => Error): void {
    this.#blocked.set(tag ?? ALL, error);
  }

  /** Lifts a {@linkcode RequestMux.block} of `tag` (of everything when `undefined`). */
  unblock(tag: string | undefined): void {
    this.#blocked.delete(tag ?? ALL);
  }

  /** Stops listening; pending requests fail as {@linkcode DisconnectedError}. */
  close(): void {
    this.#sub.unsubscribe();
    this.#failAll("the request mux closed");
    this.#clock.clearTimeout(this.#sweeper);
    this.#sweeper = undefined;
    this.#sweepAt = Infinity;
  }

  #onReply(msg: Msg): void {
    const token = msg.subject.slice(this.#inbox.length);
    const p = this.#pending.get(token);
    if (p === undefined) return; // late reply after a timeout
    this.#pending.delete(token);
    // The server answers a request nobody listens to with a bodiless 503 status message.
    const headers = readHeaders(msg);
    const data = msg.data;
    if (headers !== undefined && headers.code === 503 && data.length === 0) {
      p.reject(new NoRespondersError(p.subject));
      return;
    }
    p.resolve(replyOf(data, headers));
  }

  /**
   * Replies travel to this connection's inbox on the server it is connected to. When that connection
   * drops (its server died), replies to requests already sent are lost: fail them now as unavailable
   * instead of letting each wait for its timeout. nats.js drops what is published between the drop and
   * its next dial, so requests made until the `reconnect` are held here and published then (each still
   * bound by its timeout).
   */
  async #watchDisconnects(): Promise<void> {
    for await (const s of this.#nc.status()) {
      if (s.type === "disconnect") {
        this.#down = true;
        this.#failAll("the NATS connection dropped");
      } else if (s.type === "reconnect") {
        this.#down = false;
        const held = this.#held;
        this.#held = [];
        for (const h of held) this.#publishHeld(h);
      }
    }
  }

  #publishBatch(): void {
    const batch = this.#batch;
    this.#batch = [];
    if (this.#down) {
      this.#held.push(...batch);
      return;
    }
    for (let i = 0; i < batch.length; i++) this.#publishHeld(batch[i]!);
  }

  #publishHeld(h: Held): void {
    const p = this.#pending.get(h.token);
    if (p === undefined) return; // timed out while held
    const reply = this.#inbox + h.token;
    try {
      this.#nc.publish(h.subject, h.data, h.headers === undefined ? { reply } : { reply, headers: h.headers });
    } catch (err) {
      this.#pending.delete(h.token);
      p.reject(new DisconnectedError(h.subject, `cannot publish (${err instanceof Error ? err.message : String(err)})`));
    }
  }

  /** Sets the timer for `deadline` (replacing one set for later). */
  #arm(deadline: number): void {
    const clock = this.#clock;
    if (this.#sweeper !== undefined) clock.clearTimeout(this.#sweeper);
    this.#sweepAt = deadline;
    // A pending request holds the connection open; the timer alone need not keep the process alive.
    const timer = clock.setTimeout(this.#sweep, Math.min(Math.max(0, deadline - clock.now()), MAX_TIMER_MS));
    clock.unref?.(timer);
    this.#sweeper = timer;
  }

  /** Fails the requests whose deadline passed, then arms the timer for the earliest one left. */
  #expire(): void {
    this.#sweeper = undefined;
    this.#sweepAt = Infinity;
    const pending = this.#pending;
    const now = this.#clock.now();
    let next = Infinity;
    for (const [token, p] of pending) {
      if (p.deadline > now) {
        if (p.deadline < next) next = p.deadline;
        continue;
      }
      pending.delete(token);
      p.reject(new BusTimeoutError(p.subject, p.timeoutMs));
    }
    if (next !== Infinity) this.#arm(next);
  }

  #failAll(why: string): void {
    this.#held = [];
    this.#batch = [];
    for (const [token, p] of this.#pending) {
      this.#pending.delete(token);
      p.reject(new DisconnectedError(p.subject, why));
    }
  }
}
