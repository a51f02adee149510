// The router reaching NATS over WebSocket, as it must on edge platforms without raw TCP (Deno Deploy,
// Cloudflare Workers); the plugins stay on TCP. The core end-to-end cases of router_test.ts, again.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { busTransport, connectBus } from "../../src/bus/connect.ts";
import { pluginPath, startStack } from "./_stack.ts";
import type { Stack } from "./_stack.ts";

describe("router connected to NATS over WebSocket", () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack([pluginPath("hello")], { plugins: { hello: { timeoutMs: 2_000 } } }, { routerOverWebSocket: true });
  });
  after(() => stack[Symbol.asyncDispose]());

  test("the router's connection is a WebSocket one", () => {
    assert.match(stack.nats.wsUrl ?? "", /^ws:\/\/127\.0\.0\.1:\d+$/);
    // The websocket port speaks only WebSocket: being connected to it proves the transport.
    const wsPort = new URL(stack.nats.wsUrl!).port;
    assert.notEqual(wsPort, String(stack.nats.port));
    assert.equal(stack.router.nc.getServer(), `127.0.0.1:${wsPort}`);
    assert.equal(busTransport([stack.nats.wsUrl!]), "websocket");
  });

  test("POST /v1/hello/greet answers 200 with the greeting and the serving instance", async () => {
    const res = await stack.post("hello/greet", { name: "Edge" }, { "x-request-id": "ws-1" });
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, { message: "Hello, Edge" });
    assert.equal(res.headers.get("x-request-id"), "ws-1");
    assert.equal(res.headers.get("x-plugin-version"), "1.2.0");
    assert.match(res.headers.get("x-plugin-instance") ?? "", /^[A-Za-z0-9_-]+$/);
  });

  test("404s, 400 invalid_json and 422 validation_failed, as JSON", async () => {
    const cases: [string, unknown, number, string][] = [
      ["hello/nope", { name: "x" }, 404, "method_not_found"],
      ["nope/greet", { name: "x" }, 404, "plugin_not_found"],
      ["hello/greet", "{", 400, "invalid_json"],
      ["hello/greet", { name: 5 }, 422, "validation_failed"],
    ];
    for (const [path, body, status, code] of cases) {
      const res = await stack.post(path, body);
      assert.equal(res.status, status, `${path}: ${JSON.stringify(res.body)}`);
      assert.equal(res.body.error.code, code, path);
      assert.equal(res.headers.get("content-type"), "application/json");
      assert.ok(res.body.error.requestId);
    }
    const res = await stack.post("hello/greet", { name: 5 });
    assert.equal(res.body.error.issues[0].path, "name");
  });

  test("hostile path segments get 400/404 JSON and never reach a subject", async () => {
    const segments = ["hello.greet", "hel*", "hel>", "he%20llo", "hello%0d%0a", "hello%00", "$SYS", "%24SYS", "_INBOX", "_INBOX.abc", "a".repeat(5000)];
    for (const path of segments.flatMap((s) => [`${s}/greet`, `hello/${s}`])) {
      const res = await stack.post(path, { name: "x" });
      assert.ok(res.status === 400 || res.status === 404, `${path.slice(0, 40)} → ${res.status}`);
      assert.ok(["plugin_not_found", "method_not_found", "not_found", "invalid_request"].includes(res.body.error.code));
    }
    assert.equal(stack.router.nc.isClosed(), false);
    assert.equal(stack.logs.entries.filter((e) => e.msg === "NATS disconnected").length, 0);
    assert.equal((await stack.post("hello/greet", { name: "still here" })).status, 200);
  });

  test("a TCP connection cannot open beside the WebSocket one (nats.js shares one transport per process)", async () => {
    await assert.rejects(connectBus({ servers: [stack.nats.url] }), /while 1 websocket connection\(s\) are open/);
    await assert.rejects(connectBus({ servers: [stack.nats.wsUrl!, stack.nats.url] }), /both WebSocket .* and TCP/);
  });

  test("with the only instance killed (-9), NATS no-responders over WebSocket gives 503 plugin_unavailable at once", async () => {
    stack.plugins[0]!.kill("SIGKILL");
    await stack.plugins[0]!.exited;
    const res = await stack.post("hello/greet", { name: "World" });
    assert.equal(res.status, 503, JSON.stringify(res.body));
    assert.equal(res.body.error.code, "plugin_unavailable");
    assert.equal(res.headers.get("content-type"), "application/json");
    assert.ok(res.ms < 1_000, `took ${res.ms.toFixed(1)} ms, not answered by no-responders`);
  });
});
