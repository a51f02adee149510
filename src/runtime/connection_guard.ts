/**
 * The node:net/tls layer of the connection guard: a TCP (or TLS) front for HTTP servers that lack
 * connection controls. `Bun.serve` has neither a connection cap nor a way to read a client
 * certificate, and `Deno.listenTls` cannot ask for one. The guard accepts every connection on the
 * public address, applies the rules of `guard_rules.ts` (connection cap, header and idle timeouts,
 * the first request's head), terminates TLS (verifying client certificates against the client CA),
 * and pipes the bytes to the runtime's own server on a loopback port. The runtime's handler learns
 * which guarded connection a request came on from the request's remote address and port (the
 * guard's end of the loopback connection), so it can report that a request's headers are complete,
 * and pass on the client certificate.
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
import { createServer as createTcpServer } from "node:net";
import type { Server, Socket } from "node:net";
import type { TLSSocket } from "node:tls";
import type { ServerLimits, ServerTls } from "./types.ts";
import { certificateOf, createTlsFront } from "./tls_front.ts";
import type { GuardedConnection } from "./guarded_connection.ts";
import { CLOSING } from "./guarded_connection.ts";
import { ConnectionRules, MAX_HEAD_BYTES } from "./guard_rules.ts";
import { ProxiedClient } from "./proxied_client.ts";

export { DEFAULT_SERVER_LIMITS } from "./guard_rules.ts";

const END_OF_HEAD = Buffer.from("\r\n\r\n");

/** The address the guard's connections to the backend leave from (and the backend listens on). */
export const GUARD_LOOPBACK = "127.0.0.1";

/**
 * Closes a guard and its backend together, the way a `RunningServer` closes: the backend's graceful
 * shutdown is what ends the guard's kept-alive connections, and past `graceMs` both are cut.
 */
export async function closeGuarded(
  guard: ConnectionGuard,
  shutdownBackend: () => Promise<void>,
  graceMs: number,
): Promise<void> {
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
  connection(
    remoteAddress: string | undefined,
    remotePort: number | undefined,
  ): GuardedConnection | undefined;
  /**
   * Stops accepting and closes connections with no request in progress; the others close as the
   * backend closes its ends (a graceful backend shutdown ends them once their responses are out).
   * After `graceMs` whatever is left is cut.
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
 * Listens on `hostname:port` and guards every connection to the backend by the rules of
 * {@linkcode ConnectionRules}. A connection's first request head is collected here: a client that
 * never finishes it (a slowloris) never costs a backend connection, and one that is malformed or
 * too large is answered with the router's JSON error and never reaches the backend.
 */
export function startConnectionGuard(options: ConnectionGuardOptions): Promise<ConnectionGuard> {
  const { limits, tls, backendPort } = options;
  const rules = new ConnectionRules(limits);
  const byPort = new Map<number, GuardedConnection>();

  const onClient = (client: Socket) => {
    client.setNoDelay(true);
    const io = new ProxiedClient(client, {
      port: backendPort,
      host: GUARD_LOOPBACK,
      localAddress: GUARD_LOOPBACK,
    });
    const conn = rules.admit(io);
    if (conn === undefined) return;
    if (tls?.clientCa !== undefined) conn.clientCertificate = certificateOf(client as TLSSocket);
    let head: Buffer[] | undefined = [];
    let headBytes = 0;
    const close = () => {
      if (io.localPort !== undefined) byPort.delete(io.localPort);
      if (rules.forget(conn)) conn.destroy();
    };
    client.on("data", (chunk: Buffer) => {
      if (head === undefined) {
        if (conn.state !== CLOSING) conn.bytesArrived();
        return;
      }
      if (io.backend !== undefined) {
        head.push(chunk); // arrived while the backend connects
        return;
      }
      const carry = head.length === 0 ? undefined : head[head.length - 1]!.subarray(-3);
      head.push(chunk);
      headBytes += chunk.length;
      if ((carry === undefined ? chunk : Buffer.concat([carry, chunk])).includes(END_OF_HEAD)) {
        const all = head.length === 1 ? chunk : Buffer.concat(head);
        if (rules.head(conn, all.toString("latin1", 0, all.indexOf(END_OF_HEAD) + 4)) === undefined) {
          head = undefined;
          return;
        }
        io.connect((localPort) => {
          byPort.set(localPort, conn);
          const first = head!;
          head = undefined;
          return first;
        }, () => {
          if (io.localPort !== undefined) byPort.delete(io.localPort);
          // The backend ended its side (a `Connection: close` answer, a shutdown) or reset it: what
          // was piped to the client is still delivered; shutting down, close once it is flushed.
          if (rules.forget(conn)) io.endAfterBackend(rules.closing);
        });
      } else if (headBytes > MAX_HEAD_BYTES) {
        head = undefined;
        rules.headTooLarge(conn);
      }
    });
    client.on("error", close);
    client.on("close", close);
  };

  const server: Server = tls === undefined
    ? createTcpServer(onClient)
    : createTlsFront(tls, limits, onClient);
  server.on("error", () => {});

  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.hostname, () => {
      const address = server.address();
      resolve({
        port: typeof address === "object" && address !== null ? address.port : options.port,
        limits,
        get connections() {
          return rules.size;
        },
        connection: (remoteAddress, remotePort) =>
          remotePort === undefined || remoteAddress !== GUARD_LOOPBACK ? undefined : byPort.get(remotePort),
        close: (graceMs) =>
          Promise.all([new Promise<void>((done) => server.close(() => done())), rules.close(graceMs)]).then(
            () => {},
          ),
      });
    });
  });
}
