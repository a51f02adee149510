import { Buffer } from "node:buffer";
import { connect } from "node:net";

/** What happened to an upload the server answered early. */
export interface UploadResult {
  /** Bytes of the request (head and body) the kernel took from this client. */
  accepted: number;
  /** The HTTP status of the answer, 0 when none arrived. */
  status: number;
  /** The answer's head and body as received. */
  text: string;
  /** Whether the server closed (or reset) the connection before `timeoutMs`. */
  closedByServer: boolean;
  /** Ms from the first byte of the answer to the close, if both happened. */
  closeAfterAnswerMs: number | undefined;
}

/**
 * Sends `head`, then streams `bodyBytes` of body (or chunked data when `head` says so) as fast as
 * the server takes it, reading the answer meanwhile, until the server closes the connection or
 * `timeoutMs` passes. A server that keeps reading takes the whole upload; one that stops reading
 * takes only what the socket buffers hold.
 */
export function uploadUntilClosed(port: number, head: string, bodyBytes: number, timeoutMs = 15_000): Promise<UploadResult> {
  return new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1");
    const chunked = /transfer-encoding:\s*chunked/i.test(head);
    const payload = Buffer.alloc(256 * 1024, 0x20);
    const chunk = chunked ? Buffer.concat([Buffer.from(`${payload.length.toString(16)}\r\n`), payload, Buffer.from("\r\n")]) : payload;
    let accepted = 0;
    let sent = 0;
    let text = "";
    let answeredAt: number | undefined;
    let done = false;
    socket.setEncoding("utf8");
    socket.on("data", (data: string) => {
      answeredAt ??= performance.now();
      text += data;
    });
    const finish = (closedByServer: boolean) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      resolve({
        accepted,
        status: Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0),
        text,
        closedByServer,
        closeAfterAnswerMs: closedByServer && answeredAt !== undefined ? performance.now() - answeredAt : undefined,
      });
    };
    const timer = setTimeout(() => finish(false), timeoutMs);
    socket.on("error", () => finish(true));
    socket.on("close", () => finish(true));
    socket.on("end", () => finish(true));
    const pump = () => {
      while (!done && sent < bodyBytes) {
        sent += payload.length;
        const ok = socket.write(chunk, (err) => {
          if (err === undefined || err === null) accepted += chunk.length;
        });
        if (!ok) {
          socket.once("drain", pump);
          return;
        }
      }
    };
    socket.on("connect", () => {
      socket.write(head, (err) => {
        if (err === undefined || err === null) accepted += Buffer.byteLength(head);
      });
      pump();
    });
  });
}
