/**
 * The connection guard's rules, once for every layer that does its I/O (the node:net/tls proxy in
 * front of `Bun.serve` or `Deno.serve`, and the Deno HTTP/1.1 server on `Deno.listen`): the
 * connection cap, the header and idle deadlines checked by one sweep, the checks of a request
 * head, the JSON answers that refuse a connection, and how the guard closes.
 * @module
 */
import type { ServerLimits } from "./types.ts";
import { CLOSING, GuardedConnection, HEADERS, IDLE } from "./guarded_connection.ts";
import type { GuardIo } from "./guarded_connection.ts";
import { createRequestIds } from "./request_id.ts";
import { rawJsonAnswer } from "./edge_errors.ts";
import { isHeadProblem, parseHead } from "./request_head.ts";
import type { RequestHead } from "./request_head.ts";

/** A request head larger than this is refused with 431 (Node's default limit is 16 KiB). */
export const MAX_HEAD_BYTES = 64 * 1024;

/** The limits a server gets when it is given TLS but no limits (the router's config defaults). */
export const DEFAULT_SERVER_LIMITS: ServerLimits = {
  headerTimeoutMs: 10_000,
  idleTimeoutMs: 30_000,
  requestTimeoutMs: 30_000,
};

const REQUEST_ID_FIELD = /\r\nx-request-id:[ \t]*([^\r\n]*?)[ \t]*\r\n/i;

/**
 * The open connections of one guard and the rules they live by. One sweep timer checks every
 * deadline, every `min(250, headerTimeoutMs / 10)` ms; no timer per connection or request: a
 * connection whose headers are not complete within `headerTimeoutMs` of its first byte (of the
 * connection, or of the next request on a keep-alive connection) gets 408, an idle one is closed
 * after `idleTimeoutMs`, one answered early after its linger.
 */
export class ConnectionRules {
  readonly limits: ServerLimits;
  readonly #open = new Set<GuardedConnection>();
  readonly #requestIds = createRequestIds();
  #sweep: ReturnType<typeof setInterval> | undefined;
  #closing = false;
  #onEmpty: (() => void) | undefined;

  constructor(limits: ServerLimits) {
    this.limits = limits;
  }

  /** Open client connections. */
  get size(): number {
    return this.#open.size;
  }

  /** Whether the guard is shutting down: answers close their connections, none are accepted. */
  get closing(): boolean {
    return this.#closing;
  }

  /**
   * Admits a new client connection whose I/O is `io`, or refuses it past `maxConnections`
   * (503 `overloaded`) and returns `undefined`.
   */
  admit(io: GuardIo): GuardedConnection | undefined {
    const max = this.limits.maxConnections;
    if (this.#closing || (max !== undefined && this.#open.size >= max)) {
      io.refuse(
        this.refusal(
          "503 Service Unavailable",
          "overloaded",
          "Too many open connections, try again later",
          null,
          "retry-after: 1\r\n",
        ),
      );
      return undefined;
    }
    const conn = new GuardedConnection(this.limits, io);
    this.#open.add(conn);
    this.#sweep ??= setInterval(
      () => this.#expire(),
      Math.max(10, Math.min(250, Math.floor(this.limits.headerTimeoutMs / 10))),
    );
    // Not unref'd: Bun 1.4 may not run an unref'd timer while only sockets keep the loop alive.
    return conn;
  }

  /** Takes `conn` off the books (closed, or answered for good); false when it already was. */
  forget(conn: GuardedConnection): boolean {
    if (!this.#open.delete(conn)) return false;
    if (this.#open.size === 0) {
      clearInterval(this.#sweep);
      this.#sweep = undefined;
      this.#onEmpty?.();
    }
    return true;
  }

  /**
   * Reads a request head (the bytes up to the blank line, as latin1), or refuses it on `conn` with
   * the router's JSON 400 and returns `undefined`.
   */
  head(conn: GuardedConnection, text: string): RequestHead | undefined {
    const parsed = parseHead(text);
    if (!isHeadProblem(parsed)) return parsed;
    this.refuse(
      conn,
      this.refusal("400 Bad Request", parsed.code, parsed.message, REQUEST_ID_FIELD.exec(text)?.[1] ?? null),
    );
    return undefined;
  }

  /** Refuses a head that grew past {@linkcode MAX_HEAD_BYTES} with 431. */
  headTooLarge(conn: GuardedConnection): void {
    this.refuse(
      conn,
      this.refusal(
        "431 Request Header Fields Too Large",
        "invalid_request",
        "The request headers are too large",
        null,
      ),
    );
  }

  /** Answers `answer` on `conn` and closes it, reading nothing more that matters. */
  refuse(conn: GuardedConnection, answer: string): void {
    this.forget(conn);
    conn.state = CLOSING;
    conn.io.refuse(answer);
  }

  /** A complete JSON error answer that closes the connection, with the client's request id when it is sane. */
  refusal(
    status: string,
    code: string,
    message: string,
    requestId: string | null,
    extraHeaders?: string,
  ): string {
    return rawJsonAnswer(status, code, message, this.#requestIds(requestId), extraHeaders);
  }

  /**
   * Closes every connection that has no request in progress at once; the others close once their
   * answer is out (the layer's business), and past `graceMs` whatever is left is cut. Resolves
   * when none is left.
   */
  close(graceMs: number): Promise<void> {
    this.#closing = true;
    for (const conn of this.#open) {
      if (conn.state === HEADERS || conn.state === IDLE) {
        this.forget(conn);
        conn.destroy();
      }
    }
    if (this.#open.size === 0) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const cut = setTimeout(() => {
        for (const conn of this.#open) conn.destroy();
        this.#open.clear();
        clearInterval(this.#sweep);
        resolve();
      }, graceMs);
      this.#onEmpty = () => {
        clearTimeout(cut);
        resolve();
      };
    });
  }

  #expire(): void {
    const now = Date.now();
    for (const conn of this.#open) {
      if (conn.deadline > now) continue;
      if (conn.state === HEADERS && conn.io.canAnswer) {
        this.refuse(
          conn,
          this.refusal(
            "408 Request Timeout",
            "request_timeout",
            "The request headers did not arrive in time",
            null,
          ),
        );
      } else if (this.forget(conn)) conn.destroy();
    }
  }
}
