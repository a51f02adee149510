/**
 * `LiteRequest`, the request the guard's HTTP/1.1 server hands the router on Deno: it reads as a
 * web `Request` does for everything Hono and the router use.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { Hono } from "hono";
import { LiteRequest } from "../../src/runtime/http1/lite_request.ts";

const URL_ = "http://127.0.0.1:8080/v1/hello/greet?x=1";
const json = () => new TextEncoder().encode('{"name":"Ada"}') as Uint8Array<ArrayBuffer>;
const headers = () => new Headers({ "content-type": "application/json", "x-request-id": "r1" });

/** A body that arrives as a stream of `pieces`; counts the reads it was asked for. */
function streamed(pieces: string[]) {
  const reads = { count: 0, firstRead: 0 };
  const make = (onFirstRead: () => void) => {
    let i = 0;
    return new ReadableStream<Uint8Array>({
      pull(controller) {
        if (reads.count++ === 0) {
          reads.firstRead++;
          onFirstRead();
        }
        if (i < pieces.length) controller.enqueue(new TextEncoder().encode(pieces[i++]!));
        else controller.close();
      },
    }, { highWaterMark: 0 });
  };
  return { make, reads };
}

test("LiteRequest: url, method and headers as given; a body in bytes is read once, and bodyUsed says so", async () => {
  const req = new LiteRequest(URL_, "POST", headers(), json());
  assert.equal(req.url, URL_);
  assert.equal(req.method, "POST");
  assert.equal(req.headers.get("x-request-id"), "r1");
  assert.equal(req.bodyUsed, false);
  assert.deepEqual(await req.json(), { name: "Ada" });
  assert.equal(req.bodyUsed, true);
  await assert.rejects(req.arrayBuffer(), TypeError);
  assert.equal(req.signal.aborted, false);
});

test("LiteRequest: a body in bytes read as a stream, and no body at all", async () => {
  const req = new LiteRequest(URL_, "POST", headers(), json());
  const body = req.body!;
  assert.equal(req.bodyUsed, false, "asking for the stream is not reading it");
  assert.equal(await new Response(body).text(), '{"name":"Ada"}');
  assert.equal(req.bodyUsed, true);

  const empty = new LiteRequest(URL_, "POST", headers(), undefined);
  assert.equal(empty.body, null);
  assert.equal((await empty.arrayBuffer()).byteLength, 0);
});

test("LiteRequest: a streamed body is read only when asked for, and counts as used from its first read", async () => {
  const { make, reads } = streamed(['{"na', 'me":"Ada"}']);
  const req = new LiteRequest(URL_, "POST", headers(), make);
  assert.equal(reads.count, 0);
  const reader = req.body!.getReader();
  assert.equal(req.bodyUsed, false);
  const first = await reader.read();
  assert.equal(new TextDecoder().decode(first.value), '{"na');
  assert.equal(req.bodyUsed, true);
  assert.equal(reads.firstRead, 1);
  reader.releaseLock();

  const whole = new LiteRequest(URL_, "POST", headers(), streamed(['{"na', 'me":"Ada"}']).make);
  assert.equal(await whole.text(), '{"name":"Ada"}');
});

test("LiteRequest: clone() is a real Request with the same head and body; both can be read", async () => {
  const req = new LiteRequest(URL_, "POST", headers(), json());
  const copy = req.clone();
  assert.ok(copy instanceof Request);
  assert.equal(copy.url, URL_);
  assert.equal(copy.headers.get("x-request-id"), "r1");
  assert.equal(await copy.text(), '{"name":"Ada"}');
  assert.equal(await req.text(), '{"name":"Ada"}');
});

test("LiteRequest: Hono routes it, reads its params, query, headers and JSON body", async () => {
  const app = new Hono();
  app.post(
    "/v1/:plugin/:method",
    async (c) =>
      c.json({
        plugin: c.req.param("plugin"),
        method: c.req.param("method"),
        x: c.req.query("x"),
        id: c.req.header("x-request-id"),
        body: await c.req.json(),
      }),
  );
  const res = await app.fetch(new LiteRequest(URL_, "POST", headers(), json()) as unknown as Request);
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), {
    plugin: "hello",
    method: "greet",
    x: "1",
    id: "r1",
    body: { name: "Ada" },
  });
});
