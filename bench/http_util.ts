/**
 * Small network helpers for the runner: a free loopback port, and a probe that waits until an
 * HTTP target answers 200.
 * @module
 */
import { createServer } from "node:net";
import { isDeepStrictEqual } from "node:util";

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

/**
 * POSTs `body` to `url` until it answers 2xx; throws with the last answer after `timeoutMs`, or at
 * once when a 2xx body is not the JSON `expect` (when given): a fast wrong answer is no result.
 */
export async function probeHttp(
  url: string,
  body: string,
  timeoutMs: number,
  expect?: unknown,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = "no answer";
  while (Date.now() < deadline) {
    try {
      const res = await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body });
      const text = await res.text();
      if (res.ok) {
        if (expect === undefined || isDeepStrictEqual(parseJson(text), expect)) return;
        throw new WrongAnswer(
          `POST ${url} answered ${res.status} ${text.slice(0, 200)}, expected ${JSON.stringify(expect)}`,
        );
      }
      last = `${res.status} ${text.slice(0, 200)}`;
    } catch (err) {
      if (err instanceof WrongAnswer) throw err;
      last = err instanceof Error
        ? `${err.message}${err.cause instanceof Error ? `: ${err.cause.message}` : ""}`
        : String(err);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`POST ${url} did not answer 2xx within ${timeoutMs} ms (last: ${last})`);
}

class WrongAnswer extends Error {}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
