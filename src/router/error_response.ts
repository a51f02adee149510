import { ErrorCode, isSwitchyardError, statusOf } from "../errors.ts";
import type { ErrorBody } from "../errors.ts";
import type { Logger } from "../deps.ts";
import { BUS_FAILURE_MESSAGE, isBusError } from "../bus/mod.ts";

/**
 * The JSON error response for `err`: the one place where codes become HTTP statuses (the table in
 * `src/errors.ts`). Unknown errors become a 500 `internal` without details.
 */
export function errorResponse(err: unknown, requestId: string, logger: Logger, extra?: Record<string, string>): Response {
  let status = 500;
  let body: ErrorBody;
  const headers: Record<string, string> = { "content-type": "application/json", "x-request-id": requestId, ...extra };
  if (isSwitchyardError(err)) {
    status = err.status;
    body = { error: { code: err.code, message: err.message, requestId } };
    if (err.issues !== undefined) body.error.issues = err.issues;
    if (err.retryAfter !== undefined) headers["retry-after"] = String(Math.max(1, Math.ceil(err.retryAfter)));
    if (err.headers !== undefined) Object.assign(headers, err.headers);
  } else if (isBusError(err)) {
    status = statusOf(err);
    body = { error: { code: err.code, message: BUS_FAILURE_MESSAGE[err.failure], requestId } };
  } else {
    logger.error("unexpected error", { requestId, error: err instanceof Error ? (err.stack ?? err.message) : String(err) });
    body = { error: { code: ErrorCode.Internal, message: "Internal error", requestId } };
  }
  return new Response(JSON.stringify(body), { status, headers });
}
