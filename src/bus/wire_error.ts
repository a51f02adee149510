import type { MsgHdrs } from "@nats-io/nats-core";
import { WireHeaders } from "./wire_headers.ts";
import type { Issue } from "../errors.ts";
import { H_ERROR_CODE, H_SERVICE_ERROR, H_SERVICE_ERROR_CODE, H_STREAM } from "./headers.ts";

/** An error as it travels in a reply: micro error headers plus a JSON body with the details. */
export interface WireError {
  status: number;
  code: string;
  message: string;
  issues?: readonly Issue[];
}

/**
 * A reply as the mux hands it on: the payload, the headers decoded once, and the error status and
 * code read from them once (`status` 0 and `code` "" for a success), so no caller parses them again.
 */
export interface BusReply {
  readonly data: Uint8Array;
  readonly headers: MsgHdrs | undefined;
  /** `Nats-Service-Error-Code` as a number; 0 for a success. */
  readonly status: number;
  /** `sy-error-code` (or `plugin_error` when only a status came); "" for a success. */
  readonly code: string;
  /**
   * `sy-stream`: the session the rest of this answer is pulled from (a stream's first message, or
   * the first chunk of a large reply); "" for a whole answer.
   */
  readonly stream: string;
  /** A static answer given instead of a call: the circuit was open and a fallback is configured. */
  readonly fallback?: true;
}

/** Reads the error status and code of a reply's headers. */
export function replyOf(data: Uint8Array, headers: MsgHdrs | undefined): BusReply {
  if (headers === undefined) return { data, headers, status: 0, code: "", stream: "" };
  const statusText = headers.get(H_SERVICE_ERROR_CODE);
  const stream = headers.get(H_STREAM);
  if (statusText === "") return { data, headers, status: 0, code: "", stream };
  return { data, headers, status: Number.parseInt(statusText, 10) || 500, code: headers.get(H_ERROR_CODE) || "plugin_error", stream };
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Headers and body of an error reply. */
export function encodeWireError(err: WireError, hdrs: MsgHdrs = new WireHeaders()): { headers: MsgHdrs; data: Uint8Array } {
  // Header values must stay on one line.
  hdrs.set(H_SERVICE_ERROR_CODE, String(err.status));
  hdrs.set(H_SERVICE_ERROR, err.message.replace(/[\r\n]+/g, " ").slice(0, 1024));
  hdrs.set(H_ERROR_CODE, err.code);
  const body = err.issues === undefined
    ? { error: { code: err.code, message: err.message } }
    : { error: { code: err.code, message: err.message, issues: err.issues } };
  return { headers: hdrs, data: encoder.encode(JSON.stringify(body)) };
}

/** The error in a reply, or `undefined` for a success. Tolerates replies from non-Switchyard services. */
export function decodeWireError(hdrs: MsgHdrs | undefined, data: Uint8Array): WireError | undefined {
  const reply = replyOf(data, hdrs);
  return reply.status === 0 ? undefined : wireErrorOf(reply);
}

/** The error of a reply whose `status` is not 0: its code and status as read once, message and issues. */
export function wireErrorOf(reply: BusReply): WireError {
  const err: WireError = { status: reply.status, code: reply.code, message: reply.headers?.get(H_SERVICE_ERROR) ?? "" };
  if (reply.data.length > 0) {
    try {
      const body = JSON.parse(decoder.decode(reply.data)) as { error?: { issues?: unknown } };
      if (Array.isArray(body.error?.issues)) err.issues = body.error.issues as Issue[];
    } catch {
      // The headers carry everything the router needs; a body is optional.
    }
  }
  return err;
}
