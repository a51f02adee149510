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
/** A host name, IPv4 or bracketed IPv6 address, and an optional port: nothing a URL parser could read as a path. */
const AUTHORITY = /^(?:[A-Za-z0-9._~-]+|\[[0-9A-Fa-f:.]+\])(?::\d{0,5})?$/;
const CLOSE_TOKEN = /(?:^|,)[ \t]*close[ \t]*(?:,|$)/i;
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
 * `chunked`, a coding in HTTP/1.0). Runs on every request the Deno guard serves: one pass, few
 * allocations.
 */
export function parseHead(head: string): RequestHead | HeadProblem {
  // The request line: method SP target SP "HTTP/" digit "." digit.
  const lineEnd = head.indexOf("\r\n");
  const sp1 = head.indexOf(" ");
  const sp2 = sp1 === -1 ? -1 : head.indexOf(" ", sp1 + 1);
  if (
    sp1 <= 0 || sp2 <= sp1 + 1 || sp2 + 9 !== lineEnd || !head.startsWith("HTTP/", sp2 + 1) ||
    head.charCodeAt(sp2 + 7) !== 46 /* . */
  ) {
    return malformed("The request line is malformed");
  }
  const method = head.slice(0, sp1);
  const major = head.charCodeAt(sp2 + 6) - 48, minorDigit = head.charCodeAt(sp2 + 8) - 48;
  if (!TOKEN.test(method) || !(major >= 0 && major <= 9) || !(minorDigit >= 0 && minorDigit <= 9)) {
    return malformed("The request line is malformed");
  }
  if (major !== 1 || minorDigit > 1) return malformed("Only HTTP/1.0 and HTTP/1.1 are served here");
  const target = head.slice(sp1 + 1, sp2);
  const targetProblem = pathProblem(target);
  if (targetProblem !== undefined) return { code: ErrorCode.InvalidPath, message: targetProblem };
  if (target.charCodeAt(0) !== 47 /* / */ && !AUTHORITY.test(authorityOf(target))) {
    return malformed("The request target's authority is malformed");
  }
  if (hasBadByte(head)) return malformed("A header line is malformed");
  const minor = minorDigit;
  const fields: string[] = [];
  let host: string | undefined;
  let length: string | undefined;
  let encoding: string | undefined;
  let close = minor === 0;
  let expectContinue = false;
  let requestId: string | null = null;
  // Each field up to the final CRLF (the blank line's).
  const last = head.length - 2;
  for (let at = lineEnd + 2; at < last;) {
    const end = head.indexOf("\r\n", at);
    const colon = head.indexOf(":", at);
    if (colon <= at || colon > end) return malformed("A header line is malformed");
    const rawName = head.slice(at, colon);
    if (!TOKEN.test(rawName)) return malformed("A header line is malformed");
    // Optional whitespace is spaces and tabs only (String.prototype.trim would take a 0xa0 too).
    let from = colon + 1, to = end;
    while (from < to && (head.charCodeAt(from) === 32 || head.charCodeAt(from) === 9)) from++;
    while (to > from && (head.charCodeAt(to - 1) === 32 || head.charCodeAt(to - 1) === 9)) to--;
    const value = head.slice(from, to);
    const name = rawName.toLowerCase();
    fields.push(name, value);
    at = end + 2;
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
        if (CLOSE_TOKEN.test(value)) close = true;
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
    method,
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

/** Whether `head` holds a control byte other than tab, or a CR or LF outside a CRLF (a loop: 3× faster than a regex). */
function hasBadByte(head: string): boolean {
  for (let i = 0; i < head.length; i++) {
    const c = head.charCodeAt(i);
    if ((c >= 32 && c !== 127) || c === 9) continue;
    if (c === 13 && head.charCodeAt(i + 1) === 10) {
      i++;
      continue;
    }
    return true;
  }
  return false;
}

/** The authority of an absolute-form target (`http://h:1/a` → `h:1`); `pathProblem` has checked the scheme. */
function authorityOf(target: string): string {
  const start = target.indexOf("://") + 3;
  const end = target.indexOf("/", start);
  return target.slice(start, end === -1 ? target.length : end);
}
