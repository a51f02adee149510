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

// Streams and bodies in chunks (docs/protocol.md, "Streams"):
/** Request header `1`: the caller can pull a reply in several messages (a stream, or a reply larger than `max_payload`). */
export const H_CHUNKS = "sy-chunks";
/** The whole body is this many bytes, sent in chunks; this message carries the first (a request's input, or a reply). */
export const H_BYTES = "sy-bytes";
/** Reply header: the session the rest comes from, pulled on `<instance subject base>.$s.<id>`. */
export const H_STREAM = "sy-stream";
/** The message's place in its session, from 0: a reply's (each answer to a pull) or an uploaded chunk's. */
export const H_SEQ = "sy-seq";
/** Reply header `1`: the last message of a session. */
export const H_END = "sy-end";
/** On a message to a session subject (published, no reply): the caller went away; the value says why. */
export const H_CANCEL = "sy-cancel";
/** Request header: ms the instance waits for the caller's next pull before it ends the session. */
export const H_IDLE = "sy-idle";
