import { test } from "node:test";
import assert from "node:assert/strict";
import { isJsonType, readBody } from "../../src/router/mod.ts";

const post = (body: BodyInit | null, headers: Record<string, string>) =>
  new Request("http://x/v1/a/b", { method: "POST", body, headers, ...(body instanceof ReadableStream ? { duplex: "half" } : {}) } as RequestInit);

test("readBody() returns the bytes of a JSON body within the limit", async () => {
  const bytes = await readBody(post('{"a":1}', { "content-type": "application/json" }), 100);
  assert.equal(new TextDecoder().decode(bytes), '{"a":1}');
  assert.equal((await readBody(post(null, {}), 100)).length, 0);
});

test("readBody() refuses a declared length over the limit without reading", async () => {
  await assert.rejects(readBody(post("x".repeat(10), { "content-type": "application/json", "content-length": "104857600" }), 100), {
    code: "payload_too_large",
    status: 413,
  });
});

test("readBody() counts a streamed body and stops at the limit", async () => {
  let pulled = 0;
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      pulled++;
      if (pulled > 1000) controller.close();
      else controller.enqueue(new Uint8Array(64));
    },
  });
  await assert.rejects(readBody(post(stream, { "content-type": "application/json" }), 1000), { code: "payload_too_large" });
  assert.ok(pulled < 100, `stopped reading early (pulled ${pulled} chunks)`);
});

test("readBody() wants a JSON content type for a non-empty body", async () => {
  await assert.rejects(readBody(post("a=1", { "content-type": "application/x-www-form-urlencoded" }), 100), {
    code: "unsupported_media_type",
    status: 415,
  });
  assert.equal(isJsonType("application/json; charset=utf-8"), true);
  assert.equal(isJsonType("application/problem+json"), true);
  assert.equal(isJsonType("text/json"), false);
});
