import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { waitFor } from "../../src/testing/mod.ts";
import { fixturePath, startPlugin, startStack } from "./_stack.ts";
import { streamyRecords } from "./_streamy.ts";
import type { Stack } from "./_stack.ts";
import { fetchStream, SlowReader } from "./_stream_client.ts";

const IDLE_MS = 1_500;

/** Flow control, idle timeouts, retries and the breaker of streams through the router. */
describe("stream flow control and failures", () => {
  let stack: Stack;
  const { fresh, stats, waitEvent } = streamyRecords((path, body) => stack.post(path, body), "f");

  before(async () => {
    stack = await startStack([fixturePath("streamy")], {
      plugins: {
        streamy: {
          methods: {
            hang: { streamIdleMs: IDLE_MS },
            slowTicks: { streamIdleMs: IDLE_MS },
            badItem: { breaker: { consecutiveFailures: 2, resetMs: 60_000 } },
          },
        },
      },
    });
  });
  after(() => stack[Symbol.asyncDispose]());

  test("a client that reads slowly slows the plugin: what it produced and the client has not read stays bounded", async () => {
    const name = fresh();
    // 2,000 items of 60 kB (120 MB): far more than the window, the router's and the sockets' buffers.
    const n = 2_000;
    const reader = await SlowReader.open(stack.router.port, "/v1/streamy/ticks", { n, name, pad: 60_000 });
    assert.equal(reader.status, 200);
    assert.equal(JSON.parse((await reader.nextLine())!).i, 0);
    // The client reads nothing more for now: the plugin runs ahead until every buffer on the way is full.
    await waitFor(async () => (await stats(name)).produced >= 16, {
      timeoutMs: 20_000,
      message: "the plugin ran ahead",
    });
    let read = 1;
    let maxAhead = 0;
    for (; read < 60; read++) {
      const ahead = (await stats(name)).produced - read;
      maxAhead = Math.max(maxAhead, ahead);
      assert.equal(JSON.parse((await reader.nextLine())!).i, read);
    }
    const produced = (await stats(name)).produced;
    // deno-lint-ignore no-console -- the figures docs/streaming.md quotes
    console.log(
      `slow client: read ${read} of ${n} items; the plugin was at most ${maxAhead} items (${
        (maxAhead * 60_000 / 2 ** 20).toFixed(1)
      } MiB) ahead; produced ${produced}`,
    );
    assert.ok(maxAhead < 600, `the plugin ran ${maxAhead} items ahead of the client`);
    assert.ok(
      produced < n / 2,
      `the plugin produced ${produced} of ${n} items while the client read ${read}`,
    );
    // Reading on, the client gets every item in order, and the stream ends.
    for (let line = await reader.nextLine(); line !== undefined; line = await reader.nextLine()) {
      assert.equal(JSON.parse(line).i, read++);
    }
    assert.equal(read, n);
    reader.close();
    assert.equal((await stats(name)).produced, n);
  });

  test("a client that stops reading for longer than the idle timeout is cut off, and the generator stops (finally runs)", async () => {
    const name = fresh();
    const n = 2_000;
    const reader = await SlowReader.open(stack.router.port, "/v1/streamy/slowTicks", {
      n,
      name,
      pad: 60_000,
    });
    assert.equal(JSON.parse((await reader.nextLine())!).i, 0);
    // Reads nothing more: after the idle timeout the stream ends on both sides.
    const seen = await waitEvent(name, "finally");
    assert.deepEqual(seen.events, ["aborted", "finally"]);
    // What was on its way still comes, in order; then the stream is cut (or ends with an error line).
    let read = 1;
    let last: string | undefined;
    for (let line = await reader.nextLine(); line !== undefined; line = await reader.nextLine()) {
      const item = JSON.parse(line);
      if (item.error !== undefined) {
        last = item.error.code;
        break;
      }
      assert.equal(item.i, read++);
    }
    reader.close();
    assert.ok(read < n, `the client got ${read} of ${n} items`);
    assert.ok(last === undefined || last === "timeout", String(last));
    assert.ok((await stats(name)).produced < n);
  });

  test("no item within the idle timeout ends the stream with a timeout error line", async () => {
    const name = fresh();
    const t0 = performance.now();
    const s = await fetchStream(`${stack.url}/v1/streamy/hang`, { name });
    assert.deepEqual(JSON.parse((await s.nextLine())!), { i: 0 });
    const last = JSON.parse((await s.nextLine())!);
    assert.equal(last.error.code, "timeout");
    assert.ok(performance.now() - t0 >= IDLE_MS, "not before the idle timeout");
    assert.equal(await s.nextLine(), undefined);
    assert.equal((await waitEvent(name, "finally")).seen, true);
  });

  test("an idempotent stream is retried before its first item; an error after it is not retried", async () => {
    const name = fresh();
    const s = await fetchStream(`${stack.url}/v1/streamy/ticks`, { n: 3, name, busyFirst: true });
    assert.equal(s.status, 200);
    assert.deepEqual((await s.rest()).map((l) => JSON.parse(l).i), [0, 1, 2]);
    assert.equal((await stats(name)).calls, 2, "one retry");

    const late = fresh();
    const t = await fetchStream(`${stack.url}/v1/streamy/ticks`, {
      n: 3,
      name: late,
      failAfter: 1,
      failStatus: 503,
    });
    const lines = (await t.rest()).map((l) => JSON.parse(l));
    assert.deepEqual(lines[0], { i: 0 });
    assert.equal(lines[1].error.code, "boom");
    assert.equal((await stats(late)).calls, 1, "no retry after the first item");
  });

  test("a stream that fails before its first item counts for the breaker like a failed request", async () => {
    for (let i = 0; i < 2; i++) {
      const r = await stack.post("streamy/badItem", { good: 0 });
      assert.equal(r.status, 502);
      assert.equal(r.body.error.code, "bad_plugin_response");
    }
    const open = await stack.post("streamy/badItem", { good: 3 });
    assert.equal(open.status, 503);
    assert.equal(open.body.error.code, "circuit_open");
  });
});

/** kill -9 of the plugin process in the middle of a stream. */
describe("a plugin killed mid-stream", () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack([fixturePath("streamy")]);
  });
  after(() => stack[Symbol.asyncDispose]());

  for (const accept of ["application/x-ndjson", "text/event-stream"]) {
    test(`kill -9 ends the HTTP stream (${accept}) with an error item, not a hang`, async () => {
      const s = await fetchStream(`${stack.url}/v1/streamy/hang`, { name: "killed" }, { accept });
      assert.equal(s.status, 200);
      assert.ok((await s.nextLine())!.includes('{"i":0}'));
      const plugin = stack.plugins.at(-1)!;
      await plugin.waitForLine('"event":"hanging"');
      const t0 = performance.now();
      plugin.kill("SIGKILL");
      const rest = (await s.rest()).filter((l) => l !== "");
      const ms = performance.now() - t0;
      // deno-lint-ignore no-console -- the figures docs/streaming.md quotes
      console.log(`kill -9 → error item after ${ms.toFixed(0)} ms (${accept})`);
      const last = rest.at(-1)!;
      const error = JSON.parse(last.startsWith("data: ") ? last.slice(6) : last).error;
      assert.equal(error.code, "plugin_unavailable");
      if (accept === "text/event-stream") assert.ok(rest.includes("event: error"));
      // Far below the idle timeout (30 s) and the stream's deadline (5 min): the stall watch found it gone.
      assert.ok(ms < 10_000, `${ms} ms`);
      // A new instance for the next case.
      const id = `streamy-${accept.length}`;
      stack.plugins.push(await startPlugin(fixturePath("streamy"), stack.nats.url, { instanceId: id }));
      await waitFor(() => stack.router.registry.instance("streamy", id) !== undefined, {
        timeoutMs: 10_000,
        message: id,
      });
    });
  }
});

/** Behind the connection guard (Deno always; Bun with `connectionGuard: "on"`), whose idle timeout must not cut a stream. */
describe("a stream longer than the router's idle timeout", () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack([fixturePath("streamy")], {
      router: { idleTimeoutMs: 1_000, connectionGuard: "on" },
    });
  });
  after(() => stack[Symbol.asyncDispose]());

  test("items 400 ms apart for 3 s all arrive: a response being written is not an idle connection", async () => {
    const t0 = performance.now();
    const s = await fetchStream(`${stack.url}/v1/streamy/ticks`, { n: 8, delayMs: 400 });
    assert.deepEqual((await s.rest()).map((l) => JSON.parse(l).i), [0, 1, 2, 3, 4, 5, 6, 7]);
    assert.ok(performance.now() - t0 > 2_000, "the stream outlasted the idle timeout");
  });
});
