import { test } from "node:test";
import assert from "node:assert/strict";
import { bucketOf, LATENCY_BUCKETS, SecondWindow } from "../../src/router/dashboard_window.ts";
import { DashboardStats, ERRORS_KEPT } from "../../src/router/dashboard_stats.ts";
import type { Answer } from "../../src/router/dashboard_stats.ts";
import { DashboardFeed, FEED_INTERVAL_MS, MAX_FEED_CLIENTS } from "../../src/router/dashboard_feed.ts";
import { FakeClock } from "../../src/testing/mod.ts";

test("SecondWindow.summary() gives counts, errors and quantiles within the buckets' ±20 %", () => {
  const w = new SecondWindow(10);
  const second = 1_000_000;
  for (let i = 1; i <= 1_000; i++) w.add(second, i / 10, i % 100 === 0); // 0.1 … 100 ms, uniform
  const s = w.summary(second);
  assert.equal(s.count, 1_000);
  assert.equal(s.errors, 10);
  assert.ok(Math.abs(s.p50Ms - 50) / 50 < 0.2, `p50 ${s.p50Ms}`);
  assert.ok(Math.abs(s.p99Ms - 99) / 99 < 0.2, `p99 ${s.p99Ms}`);
  assert.equal(bucketOf(0), 0);
  assert.equal(bucketOf(1e9), LATENCY_BUCKETS - 1);
});

test("SecondWindow reuses its slots: a second that comes round again starts from zero, old seconds drop out", () => {
  const w = new SecondWindow(5);
  w.add(100, 1, false);
  w.add(101, 1, true);
  assert.equal(w.summary(101).count, 2);
  w.add(105, 1, false); // slot of second 100
  assert.deepEqual(w.series(105).map((p) => p.count), [1, 0, 0, 0, 1]);
  assert.equal(w.summary(105).errors, 1);
  assert.equal(w.summary(200).count, 0, "nothing in the last five seconds");
  const counts = new SecondWindow(5, false);
  counts.add(1, 5, false);
  assert.deepEqual(counts.summary(1), { count: 1, errors: 0, p50Ms: 0, p99Ms: 0 });
});

const answer = (over: Partial<Answer>): Answer => ({
  plugin: "hello",
  method: "greet",
  status: 200,
  code: "",
  ms: 1,
  instance: "i-1",
  version: "1.0.0",
  requestId: "r",
  traceId: "",
  ...over,
});

test("DashboardStats counts known plugins only, lists every error (at most ERRORS_KEPT), and splits by version", () => {
  const stats = new DashboardStats((name) => name === "hello");
  const now = 1_700_000_000_000;
  stats.record(answer({}), now);
  stats.record(answer({ version: "2.0.0", instance: "i-2" }), now);
  stats.record(answer({ version: "2.0.0", instance: "i-2" }), now);
  stats.record(answer({ status: 429, code: "rate_limited", instance: "", version: "" }), now);
  stats.record(answer({ status: 503, code: "overloaded", instance: "", version: "" }), now);
  stats.record(
    answer({ plugin: "x".repeat(500), status: 404, code: "plugin_not_found", instance: "", version: "" }),
    now,
  );
  const hello = stats.plugin("hello")!;
  assert.equal(hello.requests, 5);
  assert.equal(hello.errors, 1, "5xx only");
  assert.equal(hello.rateLimited, 1);
  assert.equal(hello.overloaded, 1);
  assert.equal(hello.instances.get("i-2")!.requests, 2);
  assert.deepEqual(stats.split("hello", now), { "1.0.0": 0.333, "2.0.0": 0.667 });
  assert.equal(stats.plugin("x".repeat(500)), undefined, "a name the registry does not know gets no counts");
  assert.equal(stats.errors()[0]!.plugin.length, 64, "newest first, names cut");
  for (let i = 0; i < 500; i++) {
    stats.record(answer({ status: 502, code: "plugin_error", requestId: `r${i}` }), now);
  }
  assert.equal(stats.errors().length, ERRORS_KEPT);
  assert.equal(stats.errors()[0]!.requestId, "r499");
  stats.prune((_plugin, id) => id === "i-1", now + 120_000, 60_000);
  assert.deepEqual([...hello.instances.keys()], ["i-1"], "a gone instance is forgotten after keepMs");
  assert.deepEqual(stats.split("hello", now + 120_000), {});
});

test("DashboardStats.record() costs about a microsecond per answer (printed; the bound only catches a gross regression on a busy box)", () => {
  const stats = new DashboardStats(() => true);
  const a = answer({});
  const n = 200_000;
  const now = Date.now();
  for (let i = 0; i < 10_000; i++) stats.record(a, now);
  const t0 = performance.now();
  for (let i = 0; i < n; i++) stats.record(a, now + i / 100);
  const ns = ((performance.now() - t0) * 1e6) / n;
  // deno-lint-ignore no-console
  console.log(`DashboardStats.record(): ${ns.toFixed(0)} ns per answer`);
  assert.ok(ns < 20_000, `${ns} ns`);
});

test("DashboardFeed sends a snapshot at once and one per tick, refuses past MAX_FEED_CLIENTS, and ends every stream when stopping", async () => {
  const clock = new FakeClock(0);
  let n = 0;
  let stopping = false;
  const feed = new DashboardFeed(clock, () => ({ n: n++ }), () => stopping);
  const stream = feed.open()!;
  const reader = stream.getReader();
  const decoder = new TextDecoder();
  let text = "";
  const readUntil = async (pattern: RegExp) => {
    while (!pattern.test(text)) {
      const { value, done } = await reader.read();
      if (done) return true;
      text += decoder.decode(value);
    }
    return false;
  };
  await readUntil(/data: \{"n":0\}/);
  assert.equal(clock.pending, 1, "one timer while a stream is open");
  clock.tick(FEED_INTERVAL_MS);
  await readUntil(/data: \{"n":1\}/);
  const others = Array.from({ length: MAX_FEED_CLIENTS - 1 }, () => feed.open());
  assert.ok(others.every((s) => s !== undefined));
  assert.equal(feed.open(), undefined, "full");
  for (const s of others) await s!.cancel();
  assert.equal(feed.clients, 1);
  stopping = true;
  clock.tick(FEED_INTERVAL_MS);
  assert.equal(await readUntil(/never/), true, "the stream ended");
  assert.equal(feed.clients, 0);
  assert.equal(clock.pending, 0, "no timer without streams");
});

test("the page's script parses as browser JavaScript, and writes values as text, never as HTML", async () => {
  const { DASHBOARD_SCRIPT } = await import("../../src/router/dashboard_script.ts");
  assert.doesNotThrow(() => new Function(DASHBOARD_SCRIPT), "a syntax error would leave the page blank");
  assert.doesNotMatch(DASHBOARD_SCRIPT, /innerHTML|outerHTML|insertAdjacentHTML|document\.write/);
});
