import { SwitchyardError } from "../errors.ts";
import type { ErrorCode } from "../errors.ts";
import { errorResponse } from "../router/error_response.ts";
import { createRequestIds } from "../router/request_id.ts";
import { noopLogger } from "../deps.ts";

/** A JSON error answer an adapter gives before the router sees the request; it closes the connection. */
export type EdgeRefusal = (code: ErrorCode, message: string, incomingRequestId: string | null) => Response;

/**
 * The refusals of one server, in the router's error format (`{"error":{"code","message","requestId"}}`)
 * with the client's `x-request-id` when it is sane, else a fresh one.
 */
export function createEdgeRefusals(): EdgeRefusal {
  const requestId = createRequestIds();
  return (code, message, incoming) => errorResponse(new SwitchyardError(code, message), requestId(incoming), noopLogger, { connection: "close" });
}
