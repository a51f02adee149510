/**
 * Small network helpers for the runner: a free loopback port, and a probe that waits until an
 * HTTP target answers 200.
 * @module
 */
import { createServer } from "node:net";

/** A TCP port on 127.0.0.1 that was free a moment ago. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const addr = server.address();
      const port = typeof addr === "object" && addr !== null ? addr.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** POSTs `body` to `url` until it answers 2xx; throws with the last answer after `timeoutMs`. */
export async function probeHttp(url: string, body: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = "no answer";
  while (Date.now() < deadline) {
    try {
      const res = await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body });
      const text = await res.text();
      if (res.ok) return;
      last = `${res.status} ${text.slice(0, 200)}`;
    } catch (err) {
      last = err instanceof Error
        ? `${err.message}${err.cause instanceof Error ? `: ${err.cause.message}` : ""}`
        : String(err);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`POST ${url} did not answer 2xx within ${timeoutMs} ms (last: ${last})`);
}
