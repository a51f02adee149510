/**
 * The one reading of an HTTP/1.x request head that every guard layer shares: the node:net guard
 * checks a connection's first head with it before the runtime's parser sees the bytes, and the
 * Deno guard serves every request from it. A head two parsers could read differently (request
 * smuggling), a target a proxy and the router could read as two paths, or anything malformed is
 * refused with the router's JSON error instead of a runtime's bare 400 or 505.
 * @module
 */
import { ErrorCode } from "../errors.ts";
import { pathProblem } from "./request_target.ts";

/** Why a head is refused: the error code and message of the JSON answer. */
export interface HeadProblem {
  readonly code: ErrorCode;
  readonly message: string;
}

/** A well-formed request head. */
export interface RequestHead {
  readonly method: string;
  /** The request target as sent: origin form (`/a?b`) or absolute form (`http://h/a?b`). */
  readonly target: string;
  /** The minor version: 0 or 1. */
  readonly minor: number;
  /** Field names (lower case) and values (trimmed), alternating, in the order sent. */
  readonly fields: readonly string[];
  readonly host: string | undefined;
  /** The declared `Content-Length`, or -1 when there is none. */
  readonly contentLength: number;
  readonly chunked: boolean;
  /** The client asked to close after this request (`Connection: close`, or HTTP/1.0). */
  readonly close: boolean;
  /** `Expect: 100-continue`: the client waits for a go-ahead before it sends the body. */
  readonly expectContinue: boolean;
  /** The client's `x-request-id`, or null. */
  readonly requestId: string | null;
}

/** RFC 9110 token: a method or a field name. */
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const REQUEST_LINE = /^([^ ]+) ([^ ]+) HTTP\/(\d)\.(\d)$/;
// deno-lint-ignore no-control-regex -- control bytes other than tab are what this looks for
const BAD_VALUE = /[\x00-\x08\x0a-\x1f\x7f]/;
/** A host name, IPv4 or bracketed IPv6 address, and an optional port: nothing a URL parser could read as a path. */
const AUTHORITY = /^(?:[A-Za-z0-9._~-]+|\[[0-9A-Fa-f:.]+\])(?::\d{0,5})?$/;
/** `Content-Length` beyond this is refused as malformed (2^53: past it a number loses digits). */
const MAX_LENGTH_DIGITS = 15;

const malformed = (message: string): HeadProblem => ({ code: ErrorCode.InvalidRequest, message });

/** Whether `result` is a refusal rather than a head. */
export function isHeadProblem(result: RequestHead | HeadProblem): result is HeadProblem {
  return (result as HeadProblem).code !== undefined;
}

/**
 * Reads `head`, the bytes of a request up to and including the first blank line as latin1, or
 * says why it is refused: a malformed request line or field, a version other than 1.0 and 1.1, a
 * target {@linkcode pathProblem} refuses, a missing (HTTP/1.1), repeated or malformed `Host`, and
 * framing two parsers could read differently (both lengths, two lengths, a coding other than
 * `chunked`, a coding in HTTP/1.0).
 */
export function parseHead(head: string): RequestHead | HeadProblem {
  const lines = head.split("\r\n");
  const line = REQUEST_LINE.exec(lines[0] ?? "");
  if (line === null || !TOKEN.test(line[1]!)) return malformed("The request line is malformed");
  if (line[3] !== "1" || (line[4] !== "0" && line[4] !== "1")) {
    return malformed("Only HTTP/1.0 and HTTP/1.1 are served here");
  }
  const target = line[2]!;
  const targetProblem = pathProblem(target);
  if (targetProblem !== undefined) return { code: ErrorCode.InvalidPath, message: targetProblem };
  if (target.charCodeAt(0) !== 47 /* / */ && !AUTHORITY.test(authorityOf(target))) {
    return malformed("The request target's authority is malformed");
  }
  const minor = line[4] === "1" ? 1 : 0;
  const fields: string[] = [];
  let host: string | undefined;
  let length: string | undefined;
  let encoding: string | undefined;
  let close = minor === 0;
  let expectContinue = false;
  let requestId: string | null = null;
  // The last two entries are the blank line's.
  for (let i = 1; i < lines.length - 2; i++) {
    const field = lines[i]!;
    const colon = field.indexOf(":");
    if (colon <= 0) return malformed("A header line is malformed");
    const rawName = field.slice(0, colon);
    const value = field.slice(colon + 1).trim();
    if (!TOKEN.test(rawName) || BAD_VALUE.test(value)) return malformed("A header line is malformed");
    const name = rawName.toLowerCase();
    fields.push(name, value);
    switch (name) {
      case "host":
        if (host !== undefined) return malformed("More than one Host header");
        host = value;
        break;
      case "content-length":
        if (length !== undefined && length !== value) return malformed("Content-Length is malformed");
        length = value;
        break;
      case "transfer-encoding":
        encoding = encoding === undefined ? value : `${encoding}, ${value}`;
        break;
      case "connection":
        if (/(?:^|,)\s*close\s*(?:,|$)/i.test(value)) close = true;
        break;
      case "expect":
        if (value.toLowerCase() === "100-continue") expectContinue = true;
        break;
      case "x-request-id":
        requestId = value;
        break;
    }
  }
  if (host === undefined ? minor === 1 : !AUTHORITY.test(host)) {
    return malformed(host === undefined ? "The Host header is required" : "The Host header is malformed");
  }
  // Request smuggling: a message whose length two parsers could read differently.
  if (encoding !== undefined && length !== undefined) {
    return malformed("Content-Length and Transfer-Encoding together");
  }
  if (encoding !== undefined && minor === 0) return malformed("Transfer-Encoding is not allowed in HTTP/1.0");
  if (encoding !== undefined && encoding.toLowerCase() !== "chunked") {
    return malformed("Only the chunked transfer coding is accepted");
  }
  if (length !== undefined && (length.length > MAX_LENGTH_DIGITS || !/^\d+$/.test(length))) {
    return malformed("Content-Length is malformed");
  }
  return {
    method: line[1]!,
    target,
    minor,
    fields,
    host,
    contentLength: length === undefined ? -1 : Number(length),
    chunked: encoding !== undefined,
    close,
    expectContinue,
    requestId,
  };
}

/** Why `head` is refused, or `undefined` (see {@linkcode parseHead}). */
export function headProblem(head: string): HeadProblem | undefined {
  const parsed = parseHead(head);
  return isHeadProblem(parsed) ? parsed : undefined;
}

/** The authority of an absolute-form target (`http://h:1/a` → `h:1`); `pathProblem` has checked the scheme. */
function authorityOf(target: string): string {
  const start = target.indexOf("://") + 3;
  const end = target.indexOf("/", start);
  return target.slice(start, end === -1 ? target.length : end);
}
