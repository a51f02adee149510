import { ErrorCode, isSwitchyardError, statusOf } from "../errors.ts";
import type { ErrorBody } from "../errors.ts";
import type { Logger } from "../deps.ts";
import { BUS_FAILURE_MESSAGE, isBusError } from "../bus/mod.ts";

/**
 * The status and JSON body `err` is answered with: the one place where codes become HTTP statuses
 * (the table in `src/errors.ts`). Unknown errors become a 500 `internal` without details.
 */
export function errorBody(err: unknown, requestId: string, logger: Logger): { status: number; body: ErrorBody } {
  if (isSwitchyardError(err)) {
    const body: ErrorBody = { error: { code: err.code, message: err.message, requestId } };
    if (err.issues !== undefined) body.error.issues = err.issues;
    return { status: err.status, body };
  }
  if (isBusError(err)) return { status: statusOf(err), body: { error: { code: err.code, message: BUS_FAILURE_MESSAGE[err.failure], requestId } } };
  logger.error("unexpected error", { requestId, error: err instanceof Error ? (err.stack ?? err.message) : String(err) });
  return { status: 500, body: { error: { code: ErrorCode.Internal, message: "Internal error", requestId } } };
}

/** The JSON error response for `err` (see {@linkcode errorBody}), with `Retry-After` and the error's own headers. */
export function errorResponse(err: unknown, requestId: string, logger: Logger, extra?: Record<string, string>): Response {
  const { status, body } = errorBody(err, requestId, logger);
  const headers: Record<string, string> = { "content-type": "application/json", "x-request-id": requestId, ...extra };
  if (isSwitchyardError(err)) {
    if (err.retryAfter !== undefined) headers["retry-after"] = String(Math.max(1, Math.ceil(err.retryAfter)));
    if (err.headers !== undefined) Object.assign(headers, err.headers);
  }
  return new Response(JSON.stringify(body), { status, headers });
}
