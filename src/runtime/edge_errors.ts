import { Buffer } from "node:buffer";
import { ERROR_STATUS } from "../errors.ts";
import type { ErrorCode } from "../errors.ts";
import { createRequestIds } from "./request_id.ts";

/** A JSON error answer an adapter gives before the router sees the request; it closes the connection. */
export type EdgeRefusal = (code: ErrorCode, message: string, incomingRequestId: string | null) => Response;

/**
 * The refusals of one server, in the router's error format (`{"error":{"code","message","requestId"}}`)
 * with the client's `x-request-id` when it is sane, else a fresh one.
 */
export function createEdgeRefusals(): EdgeRefusal {
  const requestId = createRequestIds();
  return (code, message, incoming) => {
    const id = requestId(incoming);
    return new Response(JSON.stringify({ error: { code, message, requestId: id } }), {
      status: ERROR_STATUS[code],
      headers: { "content-type": "application/json", "x-request-id": id, connection: "close" },
    });
  };
}

/**
 * A complete HTTP/1.1 JSON error answer that closes the connection, for a socket the runtime's
 * HTTP server does not answer (the connection guard, node:http's parser errors), in the router's
 * error format. `status` is the status line's rest, e.g. `"408 Request Timeout"`.
 */
export function rawJsonAnswer(status: string, code: string, message: string, requestId: string, extraHeaders = ""): string {
  const body = JSON.stringify({ error: { code, message, requestId } });
  const length = Buffer.byteLength(body);
  return `HTTP/1.1 ${status}\r\ncontent-type: application/json\r\nconnection: close\r\nx-request-id: ${requestId}\r\n${extraHeaders}content-length: ${length}\r\n\r\n${body}`;
}
