/**
 * The node:http request listener: checks what only node:http still shows as sent (the raw request
 * target, a missing `Host`), then lets `@hono/node-server` build the `Request` and run the router.
 * An error answered before the body was read closes the connection without reading the rest.
 * @module
 */
import { Buffer } from "node:buffer";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Socket } from "node:net";
import type { TLSSocket } from "node:tls";
import { getRequestListener } from "@hono/node-server";
import { ErrorCode } from "../errors.ts";
import type { FetchHandler, PeerInfo, ServerTls } from "./types.ts";
import { pathProblem } from "./request_target.ts";
import { createEdgeRefusals } from "./edge_errors.ts";
import type { EdgeRefusal } from "./edge_errors.ts";
import { closesAfterAnswer } from "./early_close.ts";
import { LINGER_MS } from "./guarded_connection.ts";

type Listener = (incoming: IncomingMessage, outgoing: ServerResponse) => void;

/** The listener for node:http(s) `createServer(options, listener)`, with `requireHostHeader: false` (it answers that itself, in JSON). */
export function nodeRequestListener(fetch: FetchHandler, tls: ServerTls | undefined, hostname: string): Listener {
  const refuse = createEdgeRefusals();
  const readPeer = tls?.clientCa === undefined ? undefined : nodePeerReader();
  const handler = (req: Request, env: { incoming: IncomingMessage }): Response | Promise<Response> => {
    const out = fetch(req, readPeer === undefined ? env as PeerInfo : readPeer(env.incoming));
    if (out instanceof Promise) return out.then((res) => answered(req, res, env.incoming));
    return answered(req, out, env.incoming);
  };
  const hono = getRequestListener(handler as unknown as (req: Request) => Response, {
    hostname,
    // What @hono/node-server cannot turn into a Request (a malformed absolute target or Host).
    errorHandler: () => refuse(ErrorCode.InvalidRequest, "The request target or the Host header is malformed", null),
  });
  return (incoming, outgoing) => {
    const problem = pathProblem(incoming.url ?? "");
    if (problem !== undefined) return refuseEarly(refuse, ErrorCode.InvalidPath, problem, incoming, outgoing);
    // llhttp takes "HTTP/2.0" in a request line for a version it serves.
    if (incoming.httpVersionMajor !== 1) return refuseEarly(refuse, ErrorCode.InvalidRequest, "Only HTTP/1.0 and HTTP/1.1 are served here", incoming, outgoing);
    if (incoming.headers.host === undefined && incoming.httpVersion !== "1.0") {
      return refuseEarly(refuse, ErrorCode.InvalidRequest, "The Host header is required", incoming, outgoing);
    }
    hono(incoming, outgoing);
  };
}

function answered(req: Request, res: Response, incoming: IncomingMessage): Response {
  if (closesAfterAnswer(req, res)) lingerAfterAnswer(incoming.socket);
  return res;
}

function refuseEarly(refuse: EdgeRefusal, code: ErrorCode, message: string, incoming: IncomingMessage, outgoing: ServerResponse): void {
  const id = incoming.headers["x-request-id"];
  const res = refuse(code, message, typeof id === "string" ? id : null);
  const length = incoming.headers["content-length"];
  if ((length !== undefined && length.trim() !== "0") || incoming.headers["transfer-encoding"] !== undefined) lingerAfterAnswer(incoming.socket);
  res.text().then((body) => {
    outgoing.writeHead(res.status, { ...Object.fromEntries(res.headers), "content-length": String(Buffer.byteLength(body)) });
    outgoing.end(body);
  });
}

/**
 * Reads nothing more from `socket` and, once node:http ends it after the answer (`Connection:
 * close`), lets the client read that answer for up to {@linkcode LINGER_MS} before the socket is
 * cut: a reset right behind the answer can make a client that is still uploading lose it.
 */
function lingerAfterAnswer(socket: Socket | TLSSocket): void {
  socket.pause();
  // node:http resumes a paused socket when the answer's bytes drain; this one stays stopped.
  socket.resume = () => socket;
  let timer: ReturnType<typeof setTimeout> | undefined;
  socket.destroySoon = () => {
    if (timer !== undefined) return;
    socket.end();
    timer = setTimeout(() => socket.destroy(), LINGER_MS);
    socket.once("close", () => clearTimeout(timer));
  };
}

/** The client certificate of a request's TLS socket, read once per connection. */
export function nodePeerReader(): (incoming: IncomingMessage) => PeerInfo {
  const peers = new WeakMap<Socket, PeerInfo>();
  return (incoming) => {
    const socket = incoming.socket as TLSSocket;
    let peer = peers.get(socket);
    if (peer === undefined) {
      const cert = socket.authorized ? socket.getPeerCertificate() : undefined;
      peer = cert?.subject === undefined ? {} : { clientCertificate: { subject: { ...cert.subject } as Record<string, string>, fingerprint256: cert.fingerprint256 } };
      peers.set(socket, peer);
    }
    return peer;
  };
}
