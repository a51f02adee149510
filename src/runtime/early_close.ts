/**
 * An error answered before the request's body was read (401, 403, 404, 413 on a declared length,
 * 429 ...) must not cost the rest of the upload: left alone, node:http and Deno read and discard
 * every byte a client sends, and behind the connection guard the guard forwards them all. Such an
 * answer closes the connection instead, and the adapter stops reading it.
 * @module
 */

/** Whether `req` declared a body: a length other than 0, or a transfer coding. */
export function declaresBody(req: Request): boolean {
  const length = req.headers.get("content-length");
  if (length !== null) return length.trim() !== "0";
  return req.headers.get("transfer-encoding") !== null;
}

/**
 * Whether `res` ends its connection: it already says `Connection: close` (a body timeout, a
 * draining router, an edge refusal), or it is an error answered while the body was still unread,
 * which then gets `Connection: close` here. Costs one comparison on a success.
 */
export function closesAfterAnswer(req: Request, res: Response): boolean {
  if (res.status < 400) return false;
  const headers = res.headers;
  if (headers.get("connection")?.toLowerCase() === "close") return true;
  if (req.bodyUsed || !declaresBody(req)) return false;
  try {
    headers.set("connection", "close");
  } catch {
    return false; // immutable headers (a proxied response): leave the connection as the runtime keeps it
  }
  return true;
}
