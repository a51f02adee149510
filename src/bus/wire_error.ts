import type { MsgHdrs } from "@nats-io/nats-core";
import { WireHeaders } from "./wire_headers.ts";
import type { Issue } from "../errors.ts";
import { H_ERROR_CODE, H_SERVICE_ERROR, H_SERVICE_ERROR_CODE } from "./headers.ts";

/** An error as it travels in a reply: micro error headers plus a JSON body with the details. */
export interface WireError {
  status: number;
  code: string;
  message: string;
  issues?: readonly Issue[];
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
  if (hdrs === undefined) return undefined;
  const statusText = hdrs.get(H_SERVICE_ERROR_CODE);
  if (statusText === "") return undefined;
  const status = Number.parseInt(statusText, 10) || 500;
  const err: WireError = { status, code: hdrs.get(H_ERROR_CODE) || "plugin_error", message: hdrs.get(H_SERVICE_ERROR) };
  if (data.length > 0) {
    try {
      const body = JSON.parse(decoder.decode(data)) as { error?: { issues?: unknown } };
      if (Array.isArray(body.error?.issues)) err.issues = body.error.issues as Issue[];
    } catch {
      // The headers carry everything the router needs; a body is optional.
    }
  }
  return err;
}
