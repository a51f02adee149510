import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { waitFor } from "../../src/testing/mod.ts";
import { fixturePath, startStack } from "./_stack.ts";
import { streamyRecords } from "./_streamy.ts";
import type { Stack } from "./_stack.ts";
import { fetchStream, SlowReader } from "./_stream_client.ts";

const MIB = 1024 * 1024;

/** ctx.stream and ctx.call between two plugin processes: stream-relay consumes streamy. */
describe("ctx.stream between plugins", () => {
  let stack: Stack;
  const { stats, waitEvent } = streamyRecords((path, body) => stack.post(path, body), "c");

  before(async () => {
    stack = await startStack([fixturePath("streamy"), fixturePath("stream-relay")]);
  });
  after(() => stack[Symbol.asyncDispose]());

  test("a stream relayed through ctx.stream reaches the client whole and in order", async () => {
    const s = await fetchStream(`${stack.url}/v1/stream-relay/relay`, { n: 300, name: "relay-all" });
    assert.equal(s.status, 200);
    const items = (await s.rest()).map((l) => JSON.parse(l));
    assert.deepEqual(items.map((i) => i.i), Array.from({ length: 300 }, (_, i) => i));
    assert.ok(items.every((i) => i.via === "relay"));
    const sum = await stack.post("stream-relay/sum", { n: 1000 });
    assert.deepEqual(sum.body, { sum: 999 * 1000 / 2, count: 1000 });
  });

  test("leaving the loop early stops the callee's generator (its finally runs)", async () => {
    const r = await stack.post("stream-relay/first", { take: 3, name: "early" });
    assert.deepEqual(r.body, { items: [0, 1, 2] });
    assert.equal((await waitEvent("early", "finally")).seen, true);
    // At most a window of messages of at most 128 items each ran ahead of the 3 taken.
    const produced = (await stats("early")).produced;
    assert.ok(produced < 2_000, `it ran on to ${produced} items`);
  });

  test("a slow client slows the whole chain: the callee runs only a bounded way ahead", async () => {
    const n = 2_000;
    const reader = await SlowReader.open(stack.router.port, "/v1/stream-relay/relay", {
      n,
      name: "chain",
      pad: 60_000,
    });
    assert.equal(reader.status, 200);
    assert.equal(JSON.parse((await reader.nextLine())!).i, 0);
    await waitFor(async () => (await stats("chain")).produced >= 16, { timeoutMs: 20_000 });
    let read = 1;
    let maxAhead = 0;
    for (; read < 40; read++) {
      maxAhead = Math.max(maxAhead, (await stats("chain")).produced - read);
      assert.equal(JSON.parse((await reader.nextLine())!).i, read);
    }
    // deno-lint-ignore no-console -- the figures docs/streaming.md quotes
    console.log(`chain with a slow client: the callee was at most ${maxAhead} items ahead of the client`);
    assert.ok(maxAhead < 600, `${maxAhead} items ahead`);
    assert.ok((await stats("chain")).produced < n / 2);
    reader.close();
    await waitEvent("chain", "finally", 30_000);
  });

  test("ctx.stream of a unary method gives its output as one item; ctx.call of a streaming method is refused", async () => {
    assert.deepEqual((await stack.post("stream-relay/mixed", {})).body, {
      unaryItems: 1,
      callError: "invalid_request",
    });
  });

  test("ctx.call carries a 3 MiB reply and a 3 MiB input in chunks", async () => {
    const r = await stack.post("stream-relay/large", { bytes: 3 * MIB });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.deepEqual(r.body, { replied: 3 * MIB, sent: 3 * MIB });
  });
});
