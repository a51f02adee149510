import { connect } from "node:net";

/** Sends raw bytes to 127.0.0.1:`port` and resolves with the response head and body text. */
export function rawHttp(port: number, request: string, timeoutMs = 5_000): Promise<{ status: number; text: string }> {
  return rawHttpFrom({}, port, request, timeoutMs);
}

/** {@linkcode rawHttp} from a chosen local address and port. */
export function rawHttpFrom(
  from: { address?: string; port?: number },
  port: number,
  request: string,
  timeoutMs = 5_000,
): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const socket = connect({
      port,
      host: "127.0.0.1",
      ...(from.address === undefined ? {} : { localAddress: from.address }),
      ...(from.port === undefined ? {} : { localPort: from.port }),
    });
    let text = "";
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no response within ${timeoutMs} ms; got: ${text.slice(0, 200)}`));
    }, timeoutMs);
    socket.setEncoding("utf8");
    socket.on("data", (chunk: string) => {
      text += chunk;
      // One response is enough: stop at the end of a JSON body.
      const head = text.indexOf("\r\n\r\n");
      if (head !== -1 && text.trimEnd().endsWith("}")) socket.end();
    });
    socket.on("error", (err) => {
      clearTimeout(timer);
      if (text !== "") finish();
      else reject(err);
    });
    socket.on("close", () => {
      clearTimeout(timer);
      finish();
    });
    const finish = () => resolve({ status: Number(/^HTTP\/1\.[01] (\d{3})/.exec(text)?.[1] ?? 0), text });
    socket.write(request);
  });
}
