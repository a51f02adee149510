/**
 * A TCP (or TLS) front for HTTP servers that lack connection controls: `Deno.serve` has no header
 * timeout, no connection cap and no client-certificate API, and `Bun.serve` has neither a
 * connection cap nor a way to read a client certificate. The guard accepts every connection on the
 * public address, enforces the header, idle and connection limits, terminates TLS (verifying client
 * certificates against the client CA), and pipes the bytes to the runtime's own server on a
 * loopback port. The runtime's handler learns which guarded connection a request came on from the
 * request's remote port (the guard's end of the loopback connection), so it can report that a
 * request's headers are complete, and pass on the client certificate.
 * @module
 */
import { Buffer } from "node:buffer";
import { connect, createServer as createTcpServer } from "node:net";
import type { Server, Socket } from "node:net";
import { createServer as createTlsServer } from "node:tls";
import type { TLSSocket } from "node:tls";
import type { FetchHandler, PeerInfo, ServerLimits, ServerTls } from "./types.ts";

const HEADERS = 0;
const ACTIVE = 1;
const IDLE = 2;

/** A complete HTTP/1.1 JSON error response that closes the connection. */
function rawJsonResponse(status: string, code: string, message: string, extra = ""): string {
  const body = JSON.stringify({ error: { code, message } });
  return `HTTP/1.1 ${status}\r\ncontent-type: application/json\r\nconnection: close\r\n${extra}content-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
}
const OVERLOADED = rawJsonResponse("503 Service Unavailable", "overloaded", "Too many open connections, try again later", "retry-after: 1\r\n");
const HEADER_TIMEOUT = rawJsonResponse("408 Request Timeout", "request_timeout", "The request headers did not arrive in time");
const HEAD_TOO_LARGE = rawJsonResponse("431 Request Header Fields Too Large", "invalid_request", "The request headers are too large");
const END_OF_HEAD = Buffer.from("\r\n\r\n");
/** A first request's head larger than this is refused (Node's default limit is 16 KiB). */
const MAX_HEAD_BYTES = 64 * 1024;

/** The limits a server gets when it is given TLS but no limits (the router's config defaults). */
export const DEFAULT_SERVER_LIMITS: ServerLimits = { headerTimeoutMs: 10_000, idleTimeoutMs: 30_000, requestTimeoutMs: 30_000 };

/** One client connection through the guard; what the runtime's handler sees as the peer. */
export class GuardedConnection implements PeerInfo {
  clientCertificate: PeerInfo["clientCertificate"];
  /** HEADERS, ACTIVE or IDLE. */
  state = HEADERS;
  /** Epoch ms after which the sweep closes the connection. */
  deadline: number;
  readonly client: Socket;
  backend: Socket | undefined;
  /** The guard's end of the loopback connection, once connected. */
  localPort: number | undefined;
  readonly #guard: ConnectionGuard;

  constructor(guard: ConnectionGuard, client: Socket, deadline: number) {
    this.#guard = guard;
    this.client = client;
    this.deadline = deadline;
  }

  /** Requests the handler is working on (more than one when pipelined or over h2c). */
  #active = 0;

  /** The handler got this connection's next request: its headers are complete. */
  requestStarted(): void {
    this.#active++;
    this.state = ACTIVE;
    this.deadline = Infinity;
  }

  /** The handler answered: once no request is left, the connection idles until the client's next byte. */
  readonly requestEnded = (): void => {
    if (--this.#active > 0) return;
    this.state = IDLE;
    this.deadline = Date.now() + this.#guard.limits.idleTimeoutMs;
  };

  destroy(): void {
    this.client.destroy();
    this.backend?.destroy();
  }
}

/**
 * Closes a guard and its backend together, the way a `RunningServer` closes: the backend's graceful
 * shutdown is what ends the guard's kept-alive connections, and past `graceMs` both are cut.
 */
export async function closeGuarded(guard: ConnectionGuard, shutdownBackend: () => Promise<void>, graceMs: number): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const grace = new Promise<void>((resolve) => timer = setTimeout(resolve, graceMs));
  await Promise.all([guard.close(graceMs), Promise.race([shutdownBackend(), grace])]);
  clearTimeout(timer);
}

/** A listening guard in front of a loopback backend. */
export interface ConnectionGuard {
  readonly port: number;
  readonly limits: ServerLimits;
  /** Open client connections. */
  readonly connections: number;
  /** The guarded connection whose loopback end has `remotePort`, if any. */
  connection(remotePort: number | undefined): GuardedConnection | undefined;
  /**
   * Stops accepting and closes connections still sending their first request's head; the others
   * close as the backend closes its ends (a graceful backend shutdown ends idle keep-alive ones
   * once their responses are out). After `graceMs` whatever is left is cut.
   */
  close(graceMs: number): Promise<void>;
}

/** Options of {@linkcode startConnectionGuard}. */
export interface ConnectionGuardOptions {
  hostname: string;
  port: number;
  /** The runtime's own server, on 127.0.0.1. */
  backendPort: number;
  limits: ServerLimits;
  tls?: ServerTls | undefined;
}

/**
 * Listens on `hostname:port` and guards every connection to the backend: a connection whose
 * headers are not complete within `headerTimeoutMs` of its first byte (of the connection, or of
 * the next request on a keep-alive connection) gets 408 and is closed, an idle one is closed after
 * `idleTimeoutMs`, and past `maxConnections` a new connection gets 503 `overloaded`. One sweep timer
 * checks every deadline, every `min(250, headerTimeoutMs / 10)` ms; no timer per connection or request.
 */
export function startConnectionGuard(options: ConnectionGuardOptions): Promise<ConnectionGuard> {
  const { limits, tls, backendPort } = options;
  const byPort = new Map<number, GuardedConnection>();
  const open = new Set<GuardedConnection>();
  const forget = (conn: GuardedConnection): boolean => {
    if (!open.delete(conn)) return false;
    if (conn.localPort !== undefined) byPort.delete(conn.localPort);
    return true;
  };
  let guard: ConnectionGuard;

  const onClient = (client: Socket) => {
    client.setNoDelay(true);
    if (limits.maxConnections !== undefined && open.size >= limits.maxConnections) {
      // Read and drop what it sent (closing with unread bytes would reset the answer away).
      client.on("error", () => {});
      client.resume();
      client.end(OVERLOADED);
      setTimeout(() => client.destroy(), 1_000);
      return;
    }
    const conn = new GuardedConnection(guard, client, Date.now() + limits.headerTimeoutMs);
    open.add(conn);
    if (tls?.clientCa !== undefined) conn.clientCertificate = certificateOf(client as TLSSocket);
    // The first request's head is collected here: a client that never finishes it (a slowloris)
    // never costs a backend connection, and the backend never parses its trickle.
    let head: Buffer[] | undefined = [];
    let headBytes = 0;
    const openBackend = () => {
      client.pause();
      const backend = connect({ port: backendPort, host: "127.0.0.1", noDelay: true });
      conn.backend = backend;
      backend.on("error", close);
      // The backend ended its side (a `Connection: close` answer, a shutdown): end the client's
      // gracefully, so what was piped to it is still delivered; cut it if it lingers.
      backend.on("close", () => {
        if (!forget(conn)) return;
        // Shutting down: close as soon as the last bytes are flushed, not when the client gets round to it.
        if (closed) client.end(() => client.destroy());
        else {
          client.end();
          setTimeout(() => client.destroy(), 1_000).unref?.();
        }
      });
      backend.once("connect", () => {
        conn.localPort = backend.localPort;
        if (conn.localPort !== undefined) byPort.set(conn.localPort, conn);
        for (const chunk of head!) backend.write(chunk);
        head = undefined;
        client.pipe(backend);
        backend.pipe(client);
        client.resume();
      });
    };
    client.on("data", (chunk: Buffer) => {
      if (head !== undefined) {
        if (conn.backend !== undefined) {
          head.push(chunk); // arrived while the backend connects
          return;
        }
        const carry = head.length === 0 ? undefined : head[head.length - 1]!.subarray(-3);
        head.push(chunk);
        headBytes += chunk.length;
        if ((carry === undefined ? chunk : Buffer.concat([carry, chunk])).includes(END_OF_HEAD)) openBackend();
        else if (headBytes > MAX_HEAD_BYTES) {
          forget(conn);
          client.resume();
          client.end(HEAD_TOO_LARGE);
          setTimeout(() => client.destroy(), 1_000);
        }
        return;
      }
      if (conn.state === IDLE) {
        // The first byte of the next request: its headers are on the clock now.
        conn.state = HEADERS;
        conn.deadline = Date.now() + limits.headerTimeoutMs;
      }
    });
    const close = () => {
      if (forget(conn)) conn.destroy();
    };
    client.on("error", close);
    client.on("close", close);
  };

  const server: Server = tls === undefined ? createTcpServer(onClient) : createTlsServer(
    {
      cert: tls.cert,
      key: tls.key,
      handshakeTimeout: limits.headerTimeoutMs,
      ...(tls.clientCa === undefined ? {} : { ca: tls.clientCa, requestCert: true, rejectUnauthorized: tls.requireClientCert }),
    },
    onClient,
  );
  server.on("tlsClientError", (_err: Error, socket: Socket) => socket.destroy());
  server.on("error", () => {});

  const sweepMs = Math.max(10, Math.min(250, Math.floor(limits.headerTimeoutMs / 10)));
  let closed = false;
  const sweep = setInterval(() => {
    if (closed && open.size === 0) clearInterval(sweep);
    const now = Date.now();
    for (const conn of open) {
      if (conn.deadline > now) continue;
      if (conn.state === HEADERS && conn.client.writable) {
        // Answer 408, then close: forgotten first, so the backend's close does not cut the answer off.
        forget(conn);
        conn.backend?.destroy();
        conn.client.resume();
        conn.client.end(HEADER_TIMEOUT);
        setTimeout(() => conn.client.destroy(), 1_000);
      } else if (forget(conn)) conn.destroy();
    }
  }, sweepMs);
  // Not unref'd: Bun 1.4 may not run an unref'd timer while only sockets keep the loop alive.
  // The listening server keeps the process alive anyway; close() stops the sweep once all are gone.

  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.hostname, () => {
      const address = server.address();
      guard = {
        port: typeof address === "object" && address !== null ? address.port : options.port,
        limits,
        get connections() {
          return open.size;
        },
        connection: (remotePort) => (remotePort === undefined ? undefined : byPort.get(remotePort)),
        close: (graceMs) =>
          new Promise<void>((done) => {
            closed = true;
            const cut = setTimeout(() => {
              for (const conn of open) conn.destroy();
            }, graceMs);
            server.close(() => {
              clearTimeout(cut);
              done();
            });
            for (const conn of open) if (conn.backend === undefined) conn.destroy();
          }),
      };
      resolve(guard);
    });
  });
}

function certificateOf(socket: TLSSocket): PeerInfo["clientCertificate"] {
  if (!socket.authorized) return undefined;
  const cert = socket.getPeerCertificate();
  if (cert === null || cert === undefined || cert.subject === undefined) return undefined;
  return { subject: { ...cert.subject } as Record<string, string>, fingerprint256: cert.fingerprint256 };
}

/**
 * Runs `fetch` for a request that came through the guard on `conn`, marking its headers complete
 * and, once answered, the connection idle. A request that bypassed the guard gets 421.
 */
export function throughGuard(conn: GuardedConnection | undefined, fetch: FetchHandler, req: Request): Response | Promise<Response> {
  if (conn === undefined) return bypassedGuard();
  conn.requestStarted();
  let out: Response | Promise<Response>;
  try {
    out = fetch(req, conn);
  } catch (err) {
    conn.requestEnded();
    throw err;
  }
  if (out instanceof Promise) return out.finally(conn.requestEnded);
  conn.requestEnded();
  return out;
}

/** The 421 a backend answers to a request that did not come through the guard. */
export function bypassedGuard(): Response {
  return new Response('{"error":{"code":"forbidden","message":"Connect through the router\'s public address"}}', {
    status: 421,
    headers: { "content-type": "application/json", connection: "close" },
  });
}
