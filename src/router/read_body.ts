import { ErrorCode, isSwitchyardError, SwitchyardError } from "../errors.ts";

const EMPTY = new Uint8Array(0);

/**
 * Reads a request body of at most `limit` bytes within `timeoutMs` (0: no limit). A declared
 * `Content-Length` over the limit is refused before a byte is read; a chunked body is counted
 * while it streams; a body that trickles in too slowly is abandoned.
 * @throws {SwitchyardError} `payload_too_large`, `unsupported_media_type`, `request_timeout`,
 *   `invalid_request` (a body that breaks off or is malformed on the wire).
 */
export async function readBody(req: Request, limit: number, timeoutMs = 0): Promise<Uint8Array> {
  const length = req.headers.get("content-length");
  if (length !== null && !(Number(length) <= limit)) {
    if (!/^\d+$/.test(length.trim())) throw new SwitchyardError(ErrorCode.InvalidRequest, "Content-Length is not a number");
    throw tooLarge(limit);
  }
  if (req.body === null) return EMPTY;
  if (timeoutMs <= 0) return readWithin(req, limit, length);
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      req.body?.cancel().catch(() => {});
      reject(new SwitchyardError(ErrorCode.RequestTimeout, `The body did not arrive within ${timeoutMs} ms`, { headers: { connection: "close" } }));
    }, timeoutMs);
  });
  try {
    return await Promise.race([readWithin(req, limit, length), expired]);
  } finally {
    clearTimeout(timer);
  }
}

async function readWithin(req: Request, limit: number, length: string | null): Promise<Uint8Array> {
  try {
    return await readAll(req, limit, length);
  } catch (err) {
    if (isSwitchyardError(err)) throw err;
    // The runtime's parser gave up on the body: bad chunking, a connection cut short.
    throw new SwitchyardError(ErrorCode.InvalidRequest, "The request body is malformed or incomplete", { cause: err, headers: { connection: "close" } });
  }
}

async function readAll(req: Request, limit: number, length: string | null): Promise<Uint8Array> {
  if (req.body === null) return EMPTY;
  if (length !== null) {
    const bytes = new Uint8Array(await req.arrayBuffer());
    if (bytes.length > limit) throw tooLarge(limit);
    if (bytes.length > 0) checkJsonType(req);
    return bytes;
  }
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = req.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.length;
    if (size > limit) {
      await reader.cancel().catch(() => {});
      throw tooLarge(limit);
    }
    chunks.push(value);
  }
  if (size > 0) checkJsonType(req);
  if (chunks.length === 1) return chunks[0]!;
  const bytes = new Uint8Array(size);
  let at = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, at);
    at += chunk.length;
  }
  return bytes;
}

function checkJsonType(req: Request): void {
  const type = req.headers.get("content-type");
  if (type === null || !isJsonType(type)) {
    throw new SwitchyardError(
      ErrorCode.UnsupportedMediaType,
      `Send the body as JSON with "content-type: application/json"${type === null ? "" : ` (got "${type.slice(0, 100)}")`}`,
    );
  }
}

/** `application/json` or any `+json` type, with or without parameters. */
export function isJsonType(type: string): boolean {
  const essence = type.split(";", 1)[0]!.trim().toLowerCase();
  return essence === "application/json" || (essence.startsWith("application/") && essence.endsWith("+json"));
}

function tooLarge(limit: number): SwitchyardError {
  return new SwitchyardError(ErrorCode.PayloadTooLarge, `The body is larger than the limit of ${limit} bytes`);
}
