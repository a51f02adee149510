/**
 * TLS for the connection guard on Deno and Bun: a `node:tls` server (both implement it, client
 * certificates included; `Deno.listenTls` cannot ask for one, `Bun.serve` cannot show one to the
 * handler) whose handshakes must finish within the header timeout, and the client certificate it
 * verified, read once per connection.
 * @module
 */
import { createServer } from "node:tls";
import type { Server, TLSSocket } from "node:tls";
import type { Socket } from "node:net";
import type { PeerInfo, ServerLimits, ServerTls } from "./types.ts";

/** A `node:tls` server for `tls` that hands each connection to `onSecure` once its handshake is done. */
export function createTlsFront(
  tls: ServerTls,
  limits: ServerLimits,
  onSecure: (socket: TLSSocket) => void,
): Server {
  const server = createServer(
    {
      cert: tls.cert,
      key: tls.key,
      handshakeTimeout: limits.headerTimeoutMs,
      ...(tls.clientCa === undefined
        ? {}
        : { ca: tls.clientCa, requestCert: true, rejectUnauthorized: tls.requireClientCert }),
    },
    onSecure,
  );
  server.on("tlsClientError", (_err: Error, socket: Socket) => socket.destroy());
  return server;
}

/** The client certificate `socket`'s handshake verified, if any. */
export function certificateOf(socket: TLSSocket): PeerInfo["clientCertificate"] {
  if (!socket.authorized) return undefined;
  const cert = socket.getPeerCertificate();
  if (cert === null || cert === undefined || cert.subject === undefined) return undefined;
  return { subject: { ...cert.subject } as Record<string, string>, fingerprint256: cert.fingerprint256 };
}
