import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { fixturePath, startStack } from "./_stack.ts";
import { streamyRecords } from "./_streamy.ts";
import type { Stack } from "./_stack.ts";
import { Validator } from "@seriousme/openapi-schema-validator";
import { fetchStream, parseSse } from "./_stream_client.ts";

/** Streaming methods through the router: a real nats-server, the streamy plugin as its own process, fetch as the client. */
describe("streaming methods over HTTP", () => {
  let stack: Stack;
  const { fresh, stats, waitEvent } = streamyRecords((path, body) => stack.post(path, body), "t");

  before(async () => {
    stack = await startStack([fixturePath("streamy")]);
  });
  after(() => stack[Symbol.asyncDispose]());

  test("the catalog marks streaming methods; /openapi.json describes their NDJSON and SSE answers and stays valid", async () => {
    const entry = await (await fetch(`${stack.url}/v1/plugins/streamy`)).json();
    const methods = Object.fromEntries(entry.versions[0].methods.map((m: { name: string }) => [m.name, m]));
    assert.equal(methods.ticks.stream, true);
    assert.equal(methods.big.stream, undefined);
    const doc = await (await fetch(`${stack.url}/openapi.json`)).json();
    const result = await new Validator().validate(doc);
    assert.equal(result.valid, true, JSON.stringify(result.errors)?.slice(0, 2000));
    assert.deepEqual(Object.keys(doc.paths["/v1/streamy/ticks"].post.responses["200"].content), [
      "application/x-ndjson",
      "text/event-stream",
    ]);
    assert.deepEqual(Object.keys(doc.paths["/v1/streamy/big"].post.responses["200"].content), [
      "application/json",
    ]);
  });

  test("NDJSON: items arrive as produced (the first while the generator waits at a latch), in order, then the body ends", async () => {
    const name = fresh();
    const s = await fetchStream(`${stack.url}/v1/streamy/ticks`, { n: 4, name, gateAfter: 1 });
    assert.equal(s.status, 200);
    assert.equal(s.headers.get("content-type"), "application/x-ndjson");
    assert.ok(s.headers.get("x-request-id"));
    assert.equal(s.headers.get("x-plugin-version"), "1.0.0");
    assert.deepEqual(JSON.parse((await s.nextLine())!), { i: 0 });
    // The generator is held at the latch after item 0: the item reached the client before it went on.
    assert.deepEqual(await stats(name), { produced: 1, calls: 1, events: ["waiting"] });
    assert.deepEqual((await stack.post("streamy/open", { name })).body, { opened: true });
    assert.deepEqual((await s.rest()).map((l) => JSON.parse(l)), [{ i: 1 }, { i: 2 }, { i: 3 }]);
    assert.deepEqual((await stats(name)).events, ["waiting", "finally"]);
  });

  test("SSE with Accept: text/event-stream: one event per item, in order, then event: end", async () => {
    const res = await fetch(`${stack.url}/v1/streamy/ticks`, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "text/event-stream" },
      body: JSON.stringify({ n: 50 }),
    });
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-type") ?? "", /^text\/event-stream/);
    const events = parseSse(await res.text());
    assert.deepEqual(
      events.slice(0, -1).map((e) => [e.event, JSON.parse(e.data).i]),
      Array.from({ length: 50 }, (_, i) => ["message", i]),
    );
    assert.equal(events.at(-1)!.event, "end");
  });

  test("SSE: the first item arrives while the generator waits at a latch", async () => {
    const name = fresh();
    const s = await fetchStream(`${stack.url}/v1/streamy/ticks`, { n: 2, name, gateAfter: 1 }, {
      accept: "text/event-stream",
    });
    assert.equal(await s.nextLine(), 'data: {"i":0}');
    assert.deepEqual((await stats(name)).produced, 1);
    await stack.post("streamy/open", { name });
    const rest = (await s.rest()).join("\n");
    assert.deepEqual(parseSse(rest).map((e) => e.event), ["message", "end"]);
  });

  test("an error after items is a last line with the plugin's code (NDJSON) or an error event (SSE)", async () => {
    const s = await fetchStream(`${stack.url}/v1/streamy/ticks`, { n: 5, failAfter: 2 });
    assert.equal(s.status, 200);
    const lines = (await s.rest()).map((l) => JSON.parse(l));
    assert.deepEqual(lines.slice(0, 2), [{ i: 0 }, { i: 1 }]);
    assert.equal(lines.length, 3);
    assert.equal(lines[2].error.code, "boom");
    assert.equal(lines[2].error.message, "failed after 2 items");
    assert.equal(lines[2].error.requestId, s.headers.get("x-request-id"));

    const res = await fetch(`${stack.url}/v1/streamy/ticks`, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "text/event-stream" },
      body: JSON.stringify({ n: 5, failAfter: 1 }),
    });
    const events = parseSse(await res.text());
    assert.deepEqual(events.map((e) => e.event), ["message", "error"]);
    assert.equal(JSON.parse(events[1]!.data).error.code, "boom");
  });

  test("an error before the first item is a plain JSON error response with its status", async () => {
    const r = await stack.post("streamy/ticks", { n: 5, failAfter: 0 });
    assert.equal(r.status, 502);
    assert.equal(r.body.error.code, "boom");
    const bad = await stack.post("streamy/ticks", { n: "five" });
    assert.equal(bad.status, 422);
    assert.equal(bad.body.error.code, "validation_failed");
  });

  test("an item that breaks the output schema ends the stream with bad_plugin_response", async () => {
    const s = await fetchStream(`${stack.url}/v1/streamy/badItem`, { good: 2 });
    const lines = (await s.rest()).map((l) => JSON.parse(l));
    assert.deepEqual(lines.slice(0, 2), [{ i: 0 }, { i: 1 }]);
    assert.equal(lines[2].error.code, "bad_plugin_response");
  });

  test("an empty stream answers 200 with an empty body", async () => {
    const s = await fetchStream(`${stack.url}/v1/streamy/ticks`, { n: 0 });
    assert.equal(s.status, 200);
    assert.deepEqual(await s.rest(), []);
  });

  test("the client going away aborts ctx.signal in the plugin and runs the generator's finally", async () => {
    const name = fresh();
    const s = await fetchStream(`${stack.url}/v1/streamy/hang`, { name });
    assert.deepEqual(JSON.parse((await s.nextLine())!), { i: 0 });
    assert.equal((await waitEvent(name, "hanging")).seen, true);
    const gone = Date.now();
    s.abort();
    const seen = await waitEvent(name, "finally");
    assert.equal(seen.seen, true, `events: ${seen.events.join(", ")}`);
    assert.deepEqual(seen.events, ["hanging", "aborted", "finally"]);
    // A figure, not an assertion: on a loaded machine it is the scheduler's to give.
    // deno-lint-ignore no-console -- the figure docs/streaming.md quotes
    console.log(`client gone → ctx.signal aborted after ${seen.at.aborted! - gone} ms, finally after ${seen.at.finally! - gone} ms`);
    // Nothing stays in flight once the stream is gone.
    await waitForInflight(stack, 0);
  });

  test("a stream counts in flight until its last byte", async () => {
    const name = fresh();
    const s = await fetchStream(`${stack.url}/v1/streamy/ticks`, { n: 2, name, gateAfter: 1 });
    await s.nextLine();
    assert.equal(stack.router.lifecycle.tracker.traffic("streamy")?.inflight, 1);
    await stack.post("streamy/open", { name });
    await s.rest();
    await waitForInflight(stack, 0);
  });
});

async function waitForInflight(stack: Stack, n: number): Promise<void> {
  const { waitFor } = await import("../../src/testing/mod.ts");
  await waitFor(() => (stack.router.lifecycle.tracker.traffic("streamy")?.inflight ?? 0) === n, {
    timeoutMs: 10_000,
    message: `${n} in flight`,
  });
}
