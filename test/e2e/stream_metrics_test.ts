/**
 * Stream metrics on `GET /metrics`: real streams from the streamy plugin (its own process) through
 * the real router (real HTTP), then a scrape parsed with an npm Prometheus text parser and checked
 * with promtool. Counts are compared before and after each stream, so the tests do not depend on
 * each other's traffic.
 * @module
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { waitFor } from "../../src/testing/mod.ts";
import { STREAM_DURATION_BUCKETS_SECONDS } from "../../src/telemetry/mod.ts";
import { fixturePath, startStack } from "./_stack.ts";
import type { Stack } from "./_stack.ts";
import { fetchStream, parseSse } from "./_stream_client.ts";
import { family, parseExposition, sample } from "./_prometheus.ts";
import type { ParsedFamily } from "./_prometheus.ts";
import { findPromtool, promtoolCheckMetrics } from "./_promtool.ts";

/** The bytes the metrics count for items `{ i }` from `from` to `to - 1`: their JSON, without framing. */
const tickBytes = (from: number, to: number) => {
  let n = 0;
  for (let i = from; i < to; i++) n += JSON.stringify({ i }).length;
  return n;
};

describe("stream metrics", () => {
  let stack: Stack;
  let run = 0;
  const fresh = () => `m${++run}-${Math.random().toString(36).slice(2, 8)}`;

  before(async () => {
    stack = await startStack([fixturePath("streamy")]);
  });
  after(() => stack[Symbol.asyncDispose]());

  const scrape = async (): Promise<{ text: string; families: ParsedFamily[] }> => {
    const res = await fetch(`${stack.url}/metrics`);
    assert.equal(res.status, 200);
    const text = await res.text();
    return { text, families: parseExposition(text) };
  };
  /** The stream series of a streamy method, 0 for a series not there yet. */
  const read = (families: ParsedFamily[], method: string, code?: string) => ({
    items: sample(families, "switchyard_stream_items_total", { plugin: "streamy", method }) ?? 0,
    bytes: sample(families, "switchyard_stream_bytes_total", { plugin: "streamy", method }) ?? 0,
    ended: code === undefined
      ? 0
      : sample(families, "switchyard_stream_duration_seconds_count", { plugin: "streamy", method, code }) ??
        0,
    open: sample(families, "switchyard_open_streams", { plugin: "streamy" }) ?? 0,
  });
  /** Runs `body`, then waits until `code` counts one more ended stream of `method`; returns the change in items and bytes. */
  const delta = async (method: string, code: string, body: () => Promise<void>) => {
    const was = read((await scrape()).families, method, code);
    await body();
    let now = was;
    await waitFor(async () => {
      now = read((await scrape()).families, method, code);
      return now.ended === was.ended + 1;
    }, {
      timeoutMs: 20_000,
      message: () => `one more ${method} stream ended with ${code} (have ${now.ended - was.ended})`,
    });
    assert.equal(now.open, 0, "no stream open once it ended");
    return { items: now.items - was.items, bytes: now.bytes - was.bytes };
  };

  test("switchyard_open_streams counts a stream while it is written, and drops when it ends", async () => {
    const name = fresh();
    const s = await fetchStream(`${stack.url}/v1/streamy/ticks`, { n: 3, name, gateAfter: 1 });
    assert.deepEqual(JSON.parse((await s.nextLine())!), { i: 0 });
    // Held at the latch: the stream is open at the router.
    const { families } = await scrape();
    assert.equal(family(families, "switchyard_open_streams").type, "GAUGE");
    assert.equal(sample(families, "switchyard_open_streams", { plugin: "streamy" }), 1);
    assert.equal(
      sample(families, "switchyard_stream_items_total", { plugin: "streamy", method: "ticks" }),
      1,
      "the first item is counted once written",
    );
    await stack.post("streamy/open", { name });
    assert.equal((await s.rest()).length, 2);
    await waitFor(
      async () => sample((await scrape()).families, "switchyard_open_streams", { plugin: "streamy" }) === 0,
      {
        timeoutMs: 20_000,
        message: "the open-stream gauge back to 0",
      },
    );
  });

  test("items and bytes: exact counts for NDJSON and SSE streams that end well (code ok)", async () => {
    const ndjson = await delta("ticks", "ok", async () => {
      const s = await fetchStream(`${stack.url}/v1/streamy/ticks`, { n: 250 });
      assert.equal((await s.rest()).length, 250);
    });
    assert.deepEqual(ndjson, { items: 250, bytes: tickBytes(0, 250) });
    const sse = await delta("ticks", "ok", async () => {
      const s = await fetchStream(`${stack.url}/v1/streamy/ticks`, { n: 50 }, {
        accept: "text/event-stream",
      });
      assert.equal(parseSse((await s.rest()).join("\n")).length, 51, "50 items and the end event");
    });
    assert.deepEqual(sse, { items: 50, bytes: tickBytes(0, 50) }, "the same count whatever the framing");
    const empty = await delta("ticks", "ok", async () => {
      const s = await fetchStream(`${stack.url}/v1/streamy/ticks`, { n: 0 });
      assert.deepEqual(await s.rest(), []);
    });
    assert.deepEqual(empty, { items: 0, bytes: 0 });
  });

  test("the duration histogram's code: a plugin's own code folds into plugin_error; router codes and cancelled stay", async () => {
    const failed = await delta("ticks", "plugin_error", async () => {
      const s = await fetchStream(`${stack.url}/v1/streamy/ticks`, { n: 5, failAfter: 2 });
      const lines = await s.rest();
      assert.equal(JSON.parse(lines.at(-1)!).error.code, "boom");
    });
    assert.deepEqual(failed, { items: 2, bytes: tickBytes(0, 2) }, "the error line is not an item");
    const bad = await delta("badItem", "bad_plugin_response", async () => {
      const s = await fetchStream(`${stack.url}/v1/streamy/badItem`, { good: 3 });
      assert.equal(JSON.parse((await s.rest()).at(-1)!).error.code, "bad_plugin_response");
    });
    assert.equal(bad.items, 3);
    const name = fresh();
    const cancelled = await delta("hang", "cancelled", async () => {
      const s = await fetchStream(`${stack.url}/v1/streamy/hang`, { name });
      assert.deepEqual(JSON.parse((await s.nextLine())!), { i: 0 });
      s.abort();
    });
    assert.equal(cancelled.items, 1);

    const { families, text } = await scrape();
    assert.ok(!/code="boom"/.test(text), "a plugin's code is never a label value");
    const buckets = family(families, "switchyard_stream_duration_seconds_bucket").metrics.filter((m) =>
      m.labels!.plugin === "streamy" && m.labels!.method === "ticks" && m.labels!.code === "ok"
    );
    assert.deepEqual(buckets.map((b) => b.labels!.le), [
      ...STREAM_DURATION_BUCKETS_SECONDS.map(String),
      "+Inf",
    ]);
    for (let i = 1; i < buckets.length; i++) {
      assert.ok(Number(buckets[i]!.value) >= Number(buckets[i - 1]!.value), "cumulative buckets");
    }
    const okCount = sample(families, "switchyard_stream_duration_seconds_count", {
      plugin: "streamy",
      method: "ticks",
      code: "ok",
    });
    assert.equal(Number(buckets.at(-1)!.value), okCount);
    assert.ok(Number(okCount) >= 4, "the streams of the tests above");
    assert.ok(
      Number(
        sample(families, "switchyard_stream_duration_seconds_sum", {
          plugin: "streamy",
          method: "ticks",
          code: "ok",
        }),
      ) > 0,
    );
    // Streams count as requests too, timed to their first item.
    assert.ok(
      Number(
        sample(families, "switchyard_requests_total", { plugin: "streamy", method: "ticks", code: "200" }),
      ) >= 5,
    );
  });

  const promtool = findPromtool();
  test("promtool check metrics accepts /metrics with the stream families", {
    skip: promtool === undefined
      ? "promtool is not installed (apt-get install prometheus, or scripts/bootstrap.sh)"
      : false,
  }, async () => {
    const s = await fetchStream(`${stack.url}/v1/streamy/ticks`, { n: 10 });
    assert.equal((await s.rest()).length, 10);
    const { text } = await scrape();
    for (
      const name of [
        "switchyard_open_streams",
        "switchyard_stream_items_total",
        "switchyard_stream_bytes_total",
        "switchyard_stream_duration_seconds",
      ]
    ) {
      assert.match(text, new RegExp(`^# TYPE ${name} `, "m"));
    }
    assert.deepEqual(await promtoolCheckMetrics(promtool!, text), { code: 0, out: "" });
  });
});
