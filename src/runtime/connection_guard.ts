/**
 * A TCP (or TLS) front for HTTP servers that lack connection controls: `Deno.serve` has no header
 * timeout, no connection cap and no client-certificate API, and `Bun.serve` has neither a
 * connection cap nor a way to read a client certificate. The guard accepts every connection on the
 * public address, enforces the header, idle and connection limits, terminates TLS (verifying client
 * certificates against the client CA), and pipes the bytes to the runtime's own server on a
 * loopback port. The runtime's handler learns which guarded connection a request came on from the
 * request's remote address and port (the guard's end of the loopback connection), so it can report
 * that a request's headers are complete, and pass on the client certificate.
 *
 * Why address and port, not a Unix socket: `Deno.serve` and `Bun.serve` on a Unix socket tell the
 * handler nothing about the connection, so a request could not be tied to its client certificate.
 * The guard's connections leave from 127.0.0.1; while one is open, no other socket can have the
 * same source address and port towards the backend, so a local process that connects to the
 * backend itself (from 127.0.0.2, or from a port of its own) matches no guarded connection and gets
 * 421 `misdirected_request`. The entry goes as soon as the guard's connection closes.
 * @module
 */
import { Buffer } from "node:buffer";
import { connect, createServer as createTcpServer } from "node:net";
import type { Server, Socket } from "node:net";
import { createServer as createTlsServer } from "node:tls";
import type { TLSSocket } from "node:tls";
import type { PeerInfo, ServerLimits, ServerTls } from "./types.ts";
import { CLOSING, GuardedConnection, HEADERS, IDLE, LINGER_MS } from "./guarded_connection.ts";
import { headProblem } from "./request_head.ts";
import { createRequestIds } from "./request_id.ts";
import { rawJsonAnswer } from "./edge_errors.ts";

const REQUEST_ID_FIELD = /\r\nx-request-id:[ \t]*([^\r\n]*?)[ \t]*\r\n/i;
const END_OF_HEAD = Buffer.from("\r\n\r\n");
/** A first request's head larger than this is refused (Node's default limit is 16 KiB). */
const MAX_HEAD_BYTES = 64 * 1024;

/** The address the guard's connections to the backend leave from (and the backend listens on). */
export const GUARD_LOOPBACK = "127.0.0.1";

/** The limits a server gets when it is given TLS but no limits (the router's config defaults). */
export const DEFAULT_SERVER_LIMITS: ServerLimits = { headerTimeoutMs: 10_000, idleTimeoutMs: 30_000, requestTimeoutMs: 30_000 };

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
  /** The guarded connection whose loopback end is `remoteAddress:remotePort` (the request's peer, as the backend sees it), if any. */
  connection(remoteAddress: string | undefined, remotePort: number | undefined): GuardedConnection | undefined;
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
  const requestIds = createRequestIds();
  const refusal = (status: string, code: string, message: string, head?: string, extra?: string) =>
    rawJsonAnswer(status, code, message, requestIds(head === undefined ? null : REQUEST_ID_FIELD.exec(head)?.[1] ?? null), extra);

  const onClient = (client: Socket) => {
    client.setNoDelay(true);
    if (limits.maxConnections !== undefined && open.size >= limits.maxConnections) {
      // Read and drop what it sent (closing with unread bytes would reset the answer away).
      client.on("error", () => {});
      client.resume();
      client.end(refusal("503 Service Unavailable", "overloaded", "Too many open connections, try again later", undefined, "retry-after: 1\r\n"));
      setTimeout(() => client.destroy(), 1_000);
      return;
    }
    const conn = new GuardedConnection(limits, client, Date.now() + limits.headerTimeoutMs);
    open.add(conn);
    if (tls?.clientCa !== undefined) conn.clientCertificate = certificateOf(client as TLSSocket);
    // The first request's head is collected here: a client that never finishes it (a slowloris)
    // never costs a backend connection, and the backend never parses its trickle.
    let head: Buffer[] | undefined = [];
    let headBytes = 0;
    const openBackend = () => {
      client.pause();
      const backend = connect({ port: backendPort, host: GUARD_LOOPBACK, localAddress: GUARD_LOOPBACK, noDelay: true });
      conn.backend = backend;
      // The backend ended its side (a `Connection: close` answer, a shutdown) or reset it (Bun
      // closes at once when it answers with an upload unread, and resets what it left unread): end
      // the client's gracefully, so what was piped to it is still delivered, and read nothing more
      // from it; cut it if it lingers.
      const backendClosed = () => {
        if (!forget(conn)) return;
        client.unpipe(backend);
        client.pause();
        // Shutting down: close as soon as the last bytes are flushed, not when the client gets round to it.
        if (closed) client.end(() => client.destroy());
        else {
          client.end();
          setTimeout(() => client.destroy(), LINGER_MS).unref?.();
        }
      };
      backend.on("error", backendClosed);
      backend.on("close", backendClosed);
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
        if ((carry === undefined ? chunk : Buffer.concat([carry, chunk])).includes(END_OF_HEAD)) {
          const all = head.length === 1 ? chunk : Buffer.concat(head);
          const text = all.toString("latin1", 0, all.indexOf(END_OF_HEAD) + 4);
          const problem = headProblem(text);
          if (problem === undefined) openBackend();
          else refuseHead(refusal("400 Bad Request", problem.code, problem.message, text));
        } else if (headBytes > MAX_HEAD_BYTES) {
          refuseHead(refusal("431 Request Header Fields Too Large", "invalid_request", "The request headers are too large"));
        }
        return;
      }
      if (conn.state === CLOSING) return;
      if (conn.state === IDLE) {
        // The first byte of the next request: its headers are on the clock now.
        conn.state = HEADERS;
        conn.deadline = Date.now() + limits.headerTimeoutMs;
      }
    });
    const close = () => {
      if (forget(conn)) conn.destroy();
    };
    // Answers a first request the backend never sees and closes, reading nothing more; the client
    // has until the linger's end to read the answer.
    const refuseHead = (answer: string) => {
      forget(conn);
      head = undefined;
      client.pause();
      client.end(answer);
      setTimeout(() => client.destroy(), LINGER_MS);
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
        conn.client.end(refusal("408 Request Timeout", "request_timeout", "The request headers did not arrive in time"));
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
        connection: (remoteAddress, remotePort) =>
          remotePort === undefined || remoteAddress !== GUARD_LOOPBACK ? undefined : byPort.get(remotePort),
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
