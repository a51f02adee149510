import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { waitFor } from "../../src/testing/mod.ts";
import { fixturePath, startStack } from "./_stack.ts";
import type { Stack } from "./_stack.ts";
import { rawHttp } from "./_raw_http.ts";

const MIB = 1024 * 1024;

/**
 * Bodies beyond NATS's max_payload (1 MiB here, the server's default): a 5 MiB upload and a 5 MiB
 * reply go in chunks between the router and the plugin process, up to `router.bodyLimitBytes`
 * (20 MiB ones through a router process: large_bodies_memory_test.ts).
 */
describe("bodies larger than max_payload", () => {
  let stack: Stack;

  before(async () => {
    stack = await startStack([fixturePath("streamy")], { router: { bodyLimitBytes: 32 * MIB } });
  });
  after(() => stack[Symbol.asyncDispose]());

  test("the server's max_payload is 1 MiB (the chunks are needed)", () => {
    assert.equal(stack.router.nc.info?.max_payload, MIB);
  });

  test("a 5 MiB reply of a unary method reaches the HTTP client whole", async () => {
    const r = await stack.post("streamy/big", { bytes: 5 * MIB });
    assert.equal(r.status, 200, JSON.stringify(r.body).slice(0, 300));
    assert.equal(r.body.data.length, 5 * MIB);
    assert.ok(/^z+$/.test(r.body.data));
    assert.equal(r.headers.get("content-type"), "application/json");
  });

  test("a 5 MiB upload reaches a unary method's input whole", async () => {
    const data = "y".repeat(5 * MIB - 16) + "0123456789abcdef";
    const r = await stack.post("streamy/measure", { data });
    assert.equal(r.status, 200, JSON.stringify(r.body).slice(0, 300));
    assert.deepEqual(r.body, { length: 5 * MIB, head: "yyyyyyyy", tail: "89abcdef" });
  });

  test("bodies just under and just over one message, and an upload answered with a large reply", async () => {
    for (const bytes of [MIB - 4096, MIB, MIB + 1, 2 * MIB + 17]) {
      const r = await stack.post("streamy/big", { bytes });
      assert.equal(r.status, 200, `reply of ${bytes}`);
      assert.equal(r.body.data.length, bytes);
      const m = await stack.post("streamy/measure", { data: "q".repeat(bytes) });
      assert.equal(m.status, 200, `upload of ${bytes}`);
      assert.equal(m.body.length, bytes);
    }
    const data = "e".repeat(3 * MIB);
    const echoed = await stack.post("streamy/echo", { data });
    assert.equal(echoed.status, 200);
    assert.equal(echoed.body.data, data);
  });

  test("uploads without Content-Length (chunked): small ones read whole, larger ones streamed with their end marked", async () => {
    const port = Number(new URL(stack.url).port);
    for (const chars of [10, MIB - 4096, MIB + 1, 5 * MIB + 3]) {
      const json = JSON.stringify({ data: "c".repeat(chars - 1) + "d" });
      const r = await rawHttp(port, chunkedPost("/v1/streamy/measure", json), 30_000);
      assert.equal(r.status, 200, `upload of ${chars}: ${r.text.slice(0, 300)}`);
      assert.deepEqual(JSON.parse(bodyOf(r.text)), { length: chars, head: "cccccccc", tail: "cccccccd" });
    }
    // An empty body is the input {}, which the schema refuses at the edge.
    const empty = await rawHttp(port, chunkedPost("/v1/streamy/measure", ""), 30_000);
    assert.equal(empty.status, 422, empty.text.slice(0, 300));
    assert.match(empty.text, /"code":"validation_failed"/);
    // Not JSON: refused at the edge, large or small, before the plugin sees a byte.
    for (const bytes of [100, 3 * MIB]) {
      const r = await rawHttp(port, chunkedPost("/v1/streamy/measure", "x".repeat(bytes), "text/plain"), 30_000);
      assert.equal(r.status, 415, `${bytes}: ${r.text.slice(0, 300)}`);
      assert.match(r.text, /"code":"unsupported_media_type"/);
    }
    // A large body that fails the schema gets the plugin's answer.
    const bad = await rawHttp(port, chunkedPost("/v1/streamy/measure", JSON.stringify({ data: 5, pad: "p".repeat(3 * MIB) })), 30_000);
    assert.equal(bad.status, 422, bad.text.slice(0, 300));
    assert.equal((await stack.post("streamy/measure", { data: "ok" })).status, 200);
  });

  test("a reply over router.bodyLimitBytes is refused with 502 bad_plugin_response; an upload over it with 413", async () => {
    const r = await stack.post("streamy/big", { bytes: 33 * MIB });
    assert.equal(r.status, 502);
    assert.equal(r.body.error.code, "bad_plugin_response");
    const u = await stack.post("streamy/measure", { data: "q".repeat(33 * MIB) });
    assert.equal(u.status, 413);
    assert.equal(u.body.error.code, "payload_too_large");
    // The router and the plugin carry on.
    assert.equal((await stack.post("streamy/big", { bytes: 10 })).status, 200);
  });

  test("a reply in chunks counts in flight until its last byte is handed over", async () => {
    const tracker = stack.router.lifecycle.tracker;
    const res = await fetch(`${stack.url}/v1/streamy/big`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ bytes: 24 * MIB }),
    });
    assert.equal(res.status, 200);
    // Nothing read yet: the router pulls a few chunks ahead at most, so the reply is not over.
    assert.equal(tracker.total, 1);
    const text = await res.text();
    assert.equal(text.length, 24 * MIB + '{"data":""}'.length);
    await waitFor(() => tracker.total === 0, { timeoutMs: 10_000, message: "the request to leave the in-flight count" });
  });
});

/** The body of a raw HTTP/1.1 answer (one chunk at most, as the router's JSON answers are). */
function bodyOf(text: string): string {
  return text.slice(text.indexOf("\r\n\r\n") + 4).replace(/^[0-9a-f]+\r\n/, "").replace(/\r\n0\r\n\r\n$/, "");
}

/** A raw HTTP/1.1 POST of `body` with `Transfer-Encoding: chunked` (pieces of 64 KiB), closing after the answer. */
function chunkedPost(path: string, body: string, type = "application/json"): string {
  let text = `POST ${path} HTTP/1.1\r\nhost: localhost\r\ncontent-type: ${type}\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n`;
  for (let at = 0; at < body.length; at += 65536) {
    const piece = body.slice(at, at + 65536);
    text += `${piece.length.toString(16)}\r\n${piece}\r\n`;
  }
  return text + "0\r\n\r\n";
}
