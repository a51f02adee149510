/**
 * A syntax check of a request head the connection guard has collected, so the first request on a
 * connection that the runtime's own parser would refuse with a bare 400 (Deno, Bun) or 505 (Bun)
 * gets the router's JSON error instead. Later requests on a kept-alive connection reach the
 * runtime's parser unchecked (the guard does not parse them).
 * @module
 */
import { ErrorCode } from "../errors.ts";
import { pathProblem } from "./request_target.ts";

/** Why a head is refused: the error code and message of the JSON answer. */
export interface HeadProblem {
  code: ErrorCode;
  message: string;
}

/** RFC 9110 token: a method or a field name. */
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const REQUEST_LINE = /^([^ ]+) ([^ ]+) HTTP\/(\d)\.(\d)$/;
// deno-lint-ignore no-control-regex -- control bytes other than tab are what this looks for
const BAD_VALUE = /[\x00-\x08\x0a-\x1f\x7f]/;

const malformed = (message: string): HeadProblem => ({ code: ErrorCode.InvalidRequest, message });

/** Why `head` (the bytes up to and including the first blank line, as latin1) is refused, or `undefined`. */
export function headProblem(head: string): HeadProblem | undefined {
  const lines = head.split("\r\n");
  const line = REQUEST_LINE.exec(lines[0] ?? "");
  if (line === null || !TOKEN.test(line[1]!)) return malformed("The request line is malformed");
  if (line[3] !== "1" || (line[4] !== "0" && line[4] !== "1")) return malformed("Only HTTP/1.0 and HTTP/1.1 are served here");
  const target = pathProblem(line[2]!);
  if (target !== undefined) return { code: ErrorCode.InvalidPath, message: target };
  let host = false;
  const lengths = new Set<string>();
  let encoding: string | undefined;
  // The last two entries are the blank line's.
  for (let i = 1; i < lines.length - 2; i++) {
    const field = lines[i]!;
    const colon = field.indexOf(":");
    const value = field.slice(colon + 1).trim();
    if (colon <= 0 || !TOKEN.test(field.slice(0, colon)) || BAD_VALUE.test(value)) return malformed("A header line is malformed");
    const name = field.slice(0, colon).toLowerCase();
    if (name === "host") host = true;
    else if (name === "content-length") lengths.add(value);
    else if (name === "transfer-encoding") encoding = encoding === undefined ? value : `${encoding}, ${value}`;
  }
  if (!host && line[4] === "1") return malformed("The Host header is required");
  // Request smuggling: a message whose length two parsers could read differently.
  if (encoding !== undefined && lengths.size > 0) return malformed("Content-Length and Transfer-Encoding together");
  if (encoding !== undefined && encoding.toLowerCase() !== "chunked") return malformed("Only the chunked transfer coding is accepted");
  if (lengths.size > 1 || [...lengths].some((n) => !/^\d+$/.test(n))) return malformed("Content-Length is malformed");
  return undefined;
}
