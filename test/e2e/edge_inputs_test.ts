import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { versionSubjectBase } from "../../src/bus/mod.ts";
import { connectBus } from "../../src/bus/mod.ts";
import { currentRuntime } from "../../src/runtime/mod.ts";
import { fixturePath, startStack } from "./_stack.ts";
import type { Stack } from "./_stack.ts";
import { rawHttp } from "./_raw_http.ts";

const decoder = new TextDecoder();

describe("edge inputs and outputs", () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack([fixturePath("bulky")]);
  });
  after(() => stack[Symbol.asyncDispose]());

  const calls = async () => (await stack.post("bulky/calls", {})).body.calls as number;

  test("numbers that overflow to Infinity get 422 validation_failed at the router; the plugin is not called", async () => {
    const before = await calls();
    for (const body of ['{"n":1e309}', '{"n":-1e309}', '{"n":1,"extra":[1e400]}', `{"n":1${"0".repeat(400)}}`]) {
      const res = await stack.post("bulky/echo", body);
      assert.equal(res.status, 422, `${body}: ${JSON.stringify(res.body)}`);
      assert.equal(res.body.error.code, "validation_failed");
      assert.ok(res.body.error.issues.some((i: { message: string }) => /finite/.test(i.message)), JSON.stringify(res.body.error.issues));
    }
    assert.equal(await calls(), before, "no call reached the plugin");
    assert.deepEqual((await stack.post("bulky/echo", '{"n":1e308}')).body, { n: 1e308 }, "the largest finite numbers pass");
  });

  test("the plugin host refuses them too, before valibot (a caller on the bus, no router)", async () => {
    const nc = await connectBus({ servers: [stack.nats.url] });
    try {
      const reply = await nc.request(`${versionSubjectBase("sy", "bulky", "1.0.0")}.echo`, '{"n":1e309}', { timeout: 5_000 });
      assert.equal(reply.headers?.get("Nats-Service-Error-Code"), "422");
      const body = JSON.parse(decoder.decode(reply.data));
      assert.equal(body.error.code, "validation_failed");
      assert.deepEqual(body.error.issues, [{ path: "n", message: "Must be a finite number (the value overflows)" }]);
    } finally {
      await nc.close();
    }
  });

  test("an output larger than the router's body limit gets 502 bad_plugin_response at once, not a timeout", async () => {
    const t0 = performance.now();
    // Over max_payload it comes in chunks (docs/streaming.md); the first one says its size, over router.bodyLimitBytes.
    const res = await stack.post("bulky/big", { bytes: 2 * 1024 * 1024 });
    const ms = performance.now() - t0;
    assert.equal(res.status, 502, JSON.stringify(res.body));
    assert.equal(res.body.error.code, "bad_plugin_response");
    assert.match(res.body.error.message, /larger than the limit/);
    // The router's timeout is 10 s; the answer comes as soon as the plugin has its output.
    assert.ok(ms < 5_000, `answered after ${ms.toFixed(0)} ms`);
    assert.equal((await stack.post("bulky/big", { bytes: 1_000 })).status, 200, "smaller outputs still pass");
  });

  test("an output larger than NATS max_payload, to a caller that does not pull chunks, gets 502 bad_plugin_response at once", async () => {
    const nc = await connectBus({ servers: [stack.nats.url] });
    try {
      const reply = await nc.request(`${versionSubjectBase("sy", "bulky", "1.0.0")}.big`, JSON.stringify({ bytes: 2 * 1024 * 1024 }), { timeout: 5_000 });
      assert.equal(reply.headers?.get("Nats-Service-Error-Code"), "502");
      assert.equal(reply.headers?.get("sy-error-code"), "bad_plugin_response");
      assert.match(reply.headers?.get("Nats-Service-Error") ?? "", /max_payload/);
    } finally {
      await nc.close();
    }
  });

  test("a request without Host gets a JSON 400 (Bun's own parser answers an HTTP/1.1 one, without a body)", async () => {
    const res = await rawHttp(stack.router.port, "GET /health HTTP/1.1\r\nConnection: close\r\n\r\n");
    assert.equal(res.status, 400, res.text.slice(0, 200));
    if (currentRuntime() !== "bun") {
      assert.match(res.text, /"code":"invalid_request"/);
      assert.match(res.text, /Host header is required/);
    }
    // HTTP/1.0 allows no Host: Node serves it; Deno cannot tell the version, Bun cannot build its URL.
    const http10 = await rawHttp(stack.router.port, "GET /health HTTP/1.0\r\n\r\n");
    if (currentRuntime() === "node") assert.equal(http10.status, 200, http10.text.slice(0, 200));
    else {
      assert.equal(http10.status, 400, http10.text.slice(0, 200));
      assert.match(http10.text, /"code":"invalid_request"/);
    }
  });
});
