/**
 * Acceptance: a stream of 10,000 items from the example `text` plugin (its own process) reaches an
 * HTTP client through the real router in order, with none lost or repeated, as NDJSON and as SSE,
 * one at a time and several at once; the router's item counter agrees.
 * @module
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { pluginPath, startStack } from "./_stack.ts";
import type { Stack } from "./_stack.ts";
import { parseSse } from "./_stream_client.ts";
import { parseExposition, sample } from "./_prometheus.ts";

const COUNT = 10_000;
/** 10,000 distinct words (about 59 kB of text, under the method's 100,000 characters). */
const TEXT = Array.from({ length: COUNT }, (_, i) => `w${i}`).join(" ");

/** Fails at the first item that is not `{ index: i, word: "w<i>" }`, then checks the count. */
function assertAllInOrder(items: unknown[], what: string): void {
  for (let i = 0; i < items.length; i++) {
    const item = items[i] as { index?: unknown; word?: unknown };
    if (item.index !== i || item.word !== `w${i}`) {
      assert.fail(`${what}: item ${i} is ${JSON.stringify(item)} (expected {"index":${i},"word":"w${i}"})`);
    }
  }
  assert.equal(items.length, COUNT, `${what}: every item, none more`);
}

describe("a stream of 10,000 items", () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack([pluginPath("text")]);
  });
  after(() => stack[Symbol.asyncDispose]());

  const words = (headers: Record<string, string> = {}) =>
    fetch(`${stack.url}/v1/text/words`, {
      method: "POST",
      headers: { "content-type": "application/json", ...headers },
      body: JSON.stringify({ text: TEXT }),
    });
  const itemsSent = async () => {
    const text = await (await fetch(`${stack.url}/metrics`)).text();
    return sample(parseExposition(text), "switchyard_stream_items_total", {
      plugin: "text",
      method: "words",
    }) ?? 0;
  };

  test("NDJSON: all 10,000 in order, none lost; the router counted 10,000 items", async () => {
    const before = await itemsSent();
    const res = await words();
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("content-type"), "application/x-ndjson");
    const body = await res.text();
    assert.ok(body.endsWith("\n"), "every line ends");
    const lines = body.slice(0, -1).split("\n");
    assertAllInOrder(lines.map((l) => JSON.parse(l)), "NDJSON");
    // The body ends after the router's last write, and the count comes before it.
    assert.equal(await itemsSent() - before, COUNT);
  });

  test("SSE: 10,000 events in order, then event: end", async () => {
    const res = await words({ accept: "text/event-stream" });
    assert.equal(res.status, 200);
    const events = parseSse(await res.text());
    assert.equal(events.at(-1)?.event, "end");
    const items = events.slice(0, -1);
    assert.ok(items.every((e) => e.event === "message"), "no error event");
    assertAllInOrder(items.map((e) => JSON.parse(e.data)), "SSE");
  });

  test("three streams of 10,000 at once: each complete and in order", async () => {
    const bodies = await Promise.all([0, 1, 2].map(async () => {
      const res = await words();
      assert.equal(res.status, 200);
      return await res.text();
    }));
    bodies.forEach((body, n) =>
      assertAllInOrder(body.slice(0, -1).split("\n").map((l) => JSON.parse(l)), `stream ${n}`)
    );
  });
});
