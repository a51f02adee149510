/**
 * NATS header names of the Switchyard protocol (see docs/protocol.md).
 * @module
 */

/** Request id, echoed as `x-request-id` by the router. */
export const H_REQUEST_ID = "sy-request-id";
/** Absolute deadline, milliseconds since the epoch. */
export const H_DEADLINE = "sy-deadline";
/** `1` on plugin-to-plugin calls (`ctx.call`): a handler serving one adds no retries of its own. */
export const H_NESTED = "sy-nested";
/** The caller's principal as JSON (absent: anonymous). */
export const H_PRINCIPAL = "sy-principal";
/** Reply header: the instance that served. */
export const H_INSTANCE = "sy-instance";
/** Reply header: the version that served. */
export const H_VERSION = "sy-version";
/** Reply header on errors: the stable error code. */
export const H_ERROR_CODE = "sy-error-code";
/** NATS micro error headers: status code and description. */
export const H_SERVICE_ERROR_CODE = "Nats-Service-Error-Code";
export const H_SERVICE_ERROR = "Nats-Service-Error";
