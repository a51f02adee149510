/**
 * What node:http enforces natively, set from the router's limits: `headersTimeout`,
 * `requestTimeout`, `keepAliveTimeout` (idle), `maxConnections`, checked every
 * `connectionsCheckingInterval`; plus a first-byte timer for connections that send nothing (Node
 * starts its header clock at the first byte) and JSON answers to parser errors (llhttp refuses
 * `Content-Length` with `Transfer-Encoding`, bad chunking and the like).
 * @module
 */
import type { Server } from "node:http";
import type { Socket } from "node:net";
import type { ServerLimits } from "./types.ts";
import { rawJsonAnswer } from "./edge_errors.ts";
import { createRequestIds } from "./request_id.ts";

/** Applies `limits` to a node:http(s) server. */
export function applyNodeLimits(server: Server | object, limits: ServerLimits): void {
  applyLimits(server as Server, limits);
}

function applyLimits(server: Server, limits: ServerLimits): void {
  const requestId = createRequestIds();
  server.headersTimeout = limits.headerTimeoutMs;
  server.requestTimeout = Math.max(limits.requestTimeoutMs, limits.headerTimeoutMs + 1);
  server.keepAliveTimeout = limits.idleTimeoutMs;
  // Node 24 waits keepAliveTimeoutBuffer (1 s) past the advertised timeout; the limit is the limit.
  (server as { keepAliveTimeoutBuffer?: number }).keepAliveTimeoutBuffer = 0;
  if (limits.maxConnections !== undefined) server.maxConnections = limits.maxConnections;
  (server as { connectionsCheckingInterval?: number }).connectionsCheckingInterval = Math.max(10, Math.min(250, Math.floor(limits.headerTimeoutMs / 10)));
  server.on("connection", (socket: Socket) => {
    // Asks the socket whether a byte came, rather than listening for "data": a "data" listener makes
    // node:http take its parser off the socket and feed it from JavaScript for the connection's whole
    // life (a Buffer and a "data" event per read): ~5 % of the router's CPU a request at 64 in flight.
    const timer = setTimeout(() => {
      if (socket.bytesRead === 0) socket.destroy();
    }, limits.headerTimeoutMs);
    socket.once("close", () => clearTimeout(timer));
  });
  // node:http hands CONNECT to a "connect" listener and drops the socket when there is none.
  server.on("connect", (req: { headers: Record<string, string | string[] | undefined> }, socket: Socket) => {
    const id = req.headers["x-request-id"];
    socket.end(rawJsonAnswer("405 Method Not Allowed", "method_not_allowed", "CONNECT is not served here", requestId(typeof id === "string" ? id : null)));
  });
  server.on("clientError", (err: NodeJS.ErrnoException, socket: Socket) => {
    if (!socket.writable || (err as { bytesParsed?: number }).bytesParsed === undefined && err.code === "ECONNRESET") {
      socket.destroy();
      return;
    }
    // The request never parsed, so its x-request-id is unknown: a fresh id.
    const id = requestId(null);
    socket.end(
      err.code === "ERR_HTTP_REQUEST_TIMEOUT"
        ? rawJsonAnswer("408 Request Timeout", "request_timeout", "The request did not arrive in time", id)
        : err.code === "HPE_HEADER_OVERFLOW"
        ? rawJsonAnswer("431 Request Header Fields Too Large", "invalid_request", "The request headers are too large", id)
        : rawJsonAnswer("400 Bad Request", "invalid_request", "The request is malformed (framing, headers or chunking)", id),
    );
  });
}
