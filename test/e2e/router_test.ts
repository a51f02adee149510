import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { fixturePath, pluginPath, startStack } from "./_stack.ts";
import type { Stack } from "./_stack.ts";
import { rawHttp } from "./_raw_http.ts";

describe("router with real plugin processes", () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack([pluginPath("hello"), fixturePath("faulty")], {
      plugins: { faulty: { timeoutMs: 300 } },
      router: { bodyLimitBytes: 64 * 1024 },
    });
  });
  after(() => stack[Symbol.asyncDispose]());

  const faultyCalls = async () => (await stack.post("faulty/calls", {})).body.calls as number;

  test("POST /v1/hello/greet answers 200 with the greeting and the serving instance", async () => {
    const res = await stack.post("hello/greet", { name: "World" }, { "x-request-id": "req-123" });
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, { message: "Hello, World" });
    assert.equal(res.headers.get("content-type"), "application/json");
    assert.equal(res.headers.get("x-request-id"), "req-123");
    assert.equal(res.headers.get("x-plugin-version"), "1.2.0");
    assert.match(res.headers.get("x-plugin-instance") ?? "", /^[A-Za-z0-9_-]+$/);
  });

  test("error codes and statuses follow the contract", async () => {
    const cases: [string, unknown, number, string][] = [
      ["hello/nope", { name: "x" }, 404, "method_not_found"],
      ["nope/greet", { name: "x" }, 404, "plugin_not_found"],
      ["hello/greet", "{", 400, "invalid_json"],
      ["hello/greet", { name: 5 }, 422, "validation_failed"],
      ["faulty/boom", {}, 502, "plugin_error"],
      ["faulty/badOutput", {}, 502, "bad_plugin_response"],
      ["faulty/teapot", {}, 418, "teapot"],
      ["faulty/sleep", { ms: 5_000 }, 504, "timeout"],
    ];
    for (const [path, body, status, code] of cases) {
      const res = await stack.post(path, body);
      assert.equal(res.status, status, `${path}: ${JSON.stringify(res.body)}`);
      assert.equal(res.body.error.code, code, path);
      assert.equal(typeof res.body.error.message, "string");
      assert.equal(res.headers.get("content-type"), "application/json");
      assert.ok(res.body.error.requestId, "error bodies carry the request id");
    }
  });

  test("validation_failed names the field and the plugin is never called", async () => {
    const before = await faultyCalls();
    const res = await stack.post("faulty/sleep", { ms: "soon" });
    assert.equal(res.status, 422);
    assert.equal(res.body.error.issues[0].path, "ms");
    const greet = await stack.post("hello/greet", { name: 5 });
    assert.deepEqual(greet.body.error.issues.map((i: { path: string }) => i.path), ["name"]);
    assert.equal(await faultyCalls(), before);
  });

  test("a plugin's crash reaches the client without its message or stack, and the instance keeps serving", async () => {
    const res = await stack.post("faulty/boom", {});
    assert.equal(res.status, 502);
    assert.doesNotMatch(JSON.stringify(res.body), /secret internal detail|at .*\.ts/);
    assert.equal((await stack.post("faulty/calls", {})).status, 200);
  });

  test("a timed-out call answers 504 after the configured timeout", async () => {
    const res = await stack.post("faulty/sleep", { ms: 5_000 });
    assert.equal(res.status, 504);
    assert.ok(res.ms >= 290, `answered after ${res.ms} ms, before the 300 ms timeout`);
  });

  test("method_not_allowed, not_found, unsupported_media_type", async () => {
    const get = await fetch(`${stack.url}/v1/hello/greet`);
    assert.equal(get.status, 405);
    assert.equal(get.headers.get("allow"), "POST");
    assert.equal((await get.json()).error.code, "method_not_allowed");
    const missing = await fetch(`${stack.url}/nope`, { method: "POST" });
    assert.equal(missing.status, 404);
    assert.equal((await missing.json()).error.code, "not_found");
    const form = await fetch(`${stack.url}/v1/hello/greet`, { method: "POST", body: "name=World", headers: { "content-type": "application/x-www-form-urlencoded" } });
    assert.equal(form.status, 415);
    assert.equal((await form.json()).error.code, "unsupported_media_type");
  });

  test("payload_too_large: by Content-Length before reading, and while streaming a chunked body", async () => {
    const port = stack.router.port;
    const declared = await rawHttp(port, "POST /v1/hello/greet HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 104857600\r\n\r\n{");
    assert.equal(declared.status, 413);
    assert.match(declared.text, /"payload_too_large"/);
    const big = await stack.post("hello/greet", JSON.stringify({ name: "x".repeat(70 * 1024) }));
    assert.equal(big.status, 413);
    const chunk = "x".repeat(16 * 1024);
    const chunked = await rawHttp(
      port,
      "POST /v1/hello/greet HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n" +
        `${(chunk.length).toString(16)}\r\n${chunk}\r\n`.repeat(6) + "0\r\n\r\n",
    );
    assert.equal(chunked.status, 413);
  });

  test("hostile path segments get 400/404 JSON quickly and never reach a subject", async () => {
    await stack.post("hello/greet", { name: "warm-up" });
    const segments = [
      "hello.greet", "hel*", "hel>", "he%20llo", "hello%0d%0a", "hello%00", "$SYS", "%24SYS", "_INBOX",
      "_INBOX.abc", "hello%2Egreet", "a".repeat(5000),
    ];
    const paths = segments.flatMap((s) => [`${s}/greet`, `hello/${s}`]);
    for (const path of paths) {
      const res = await stack.post(path, { name: "x" });
      assert.ok(res.status === 400 || res.status === 404, `${path.slice(0, 40)} → ${res.status}`);
      assert.ok(["plugin_not_found", "method_not_found", "not_found", "invalid_request"].includes(res.body.error.code));
      // Answered at the edge (never a timeout on the bus); room for a loaded machine.
      assert.ok(res.ms < 2_500, `${path.slice(0, 40)} took ${res.ms.toFixed(1)} ms`);
    }
    assert.equal(stack.router.nc.isClosed(), false);
    assert.equal(stack.logs.entries.filter((e) => e.msg === "NATS disconnected").length, 0);
    assert.equal((await stack.post("hello/greet", { name: "still here" })).status, 200);
  });

  test("GET /v1/plugins lists versions, instances and JSON Schemas; GET /health is 200", async () => {
    const list = await (await fetch(`${stack.url}/v1/plugins`)).json();
    const hello = list.plugins.find((p: { name: string }) => p.name === "hello");
    assert.equal(hello.versions[0].version, "1.2.0");
    assert.equal(hello.versions[0].instances.length, 1);
    const greet = hello.versions[0].methods.find((m: { name: string }) => m.name === "greet");
    assert.deepEqual(greet.input.required, ["name"]);
    assert.equal(greet.input.properties.name.type, "string");
    assert.equal(greet.idempotent, true);
    const one = await fetch(`${stack.url}/v1/plugins/nope`);
    assert.equal(one.status, 404);
    const health = await fetch(`${stack.url}/health`);
    assert.equal(health.status, 200);
  });
});
