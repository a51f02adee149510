import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { resolveConfig } from "../../src/config/mod.ts";
import { startRouter } from "../../src/cli/router_command.ts";
import type { StartedRouter } from "../../src/cli/router_command.ts";
import { currentRuntime } from "../../src/runtime/mod.ts";
import { pluginPath, startStack } from "./_stack.ts";
import type { Stack } from "./_stack.ts";
import { rawHttp } from "./_raw_http.ts";

/** Requests a parser refuses, each on a fresh connection (the guard checks a connection's first head). */
const MALFORMED: Record<string, string> = {
  "a request line that is not one": "GARBAGE\r\n\r\n",
  "HTTP/1.2": "GET /health HTTP/1.2\r\nHost: x\r\n\r\n",
  "HTTP/2.0 in an HTTP/1 request line": "GET /health HTTP/2.0\r\nHost: x\r\n\r\n",
  "a space in a header name": "GET /health HTTP/1.1\r\nHost: x\r\nBad Header: y\r\n\r\n",
  "a space in the target": "GET /he alth HTTP/1.1\r\nHost: x\r\n\r\n",
  "Content-Length with Transfer-Encoding": "POST /v1/hello/greet HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
  "no Host": "GET /health HTTP/1.1\r\n\r\n",
  "OPTIONS *": "OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n",
};

/** What the runtime's own parser answers without the guard in front: Bun's bare 400 and 505. */
const BARE: Partial<Record<string, string[]>> = {
  bun: Object.keys(MALFORMED),
};

describe("malformed requests get the router's JSON error where the runtime lets it answer", () => {
  let stack: Stack;
  let guarded: StartedRouter | undefined;
  const routers: { name: string; port: number; bare: string[] }[] = [];
  before(async () => {
    stack = await startStack([pluginPath("hello")]);
    const runtime = currentRuntime();
    routers.push({ name: `${runtime} (default)`, port: stack.router.port, bare: BARE[runtime] ?? [] });
    if (runtime === "bun") {
      guarded = await startRouter(resolveConfig({ nats: { servers: [stack.nats.url] }, router: { host: "127.0.0.1", port: 0, connectionGuard: "on" } }, {}), stack.logs);
      routers.push({ name: "bun (behind the guard)", port: guarded.port, bare: [] });
    }
  });
  after(async () => {
    await guarded?.stop();
    await stack[Symbol.asyncDispose]();
  });

  test("a 400 with a JSON error body (Bun serving by itself: its own bare 400 or 505)", async () => {
    for (const { name, port, bare } of routers) {
      for (const [what, raw] of Object.entries(MALFORMED)) {
        const res = await rawHttp(port, raw);
        if (bare.includes(what)) {
          assert.ok(res.status === 400 || res.status === 505, `${name}, ${what}: ${res.text.slice(0, 200)}`);
          continue;
        }
        assert.equal(res.status, 400, `${name}, ${what}: ${res.text.slice(0, 200)}`);
        assert.match(res.text, /"error":\{"code":"invalid_(request|path)","message":"[^"]+","requestId":"[^"]+"\}/, `${name}, ${what}: ${res.text.slice(0, 200)}`);
      }
    }
  });

  test("CONNECT gets a JSON refusal, not a dropped connection", async () => {
    for (const { name, port } of routers) {
      const res = await rawHttp(port, "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n");
      assert.ok(res.status === 400 || res.status === 405, `${name}: ${res.text.slice(0, 200)}`);
      assert.match(res.text, /"error":\{"code":"/, name);
    }
  });

  test("the router still serves", async () => {
    assert.equal((await stack.post("hello/greet", { name: "x" })).status, 200);
  });
});
