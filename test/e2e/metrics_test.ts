/**
 * `GET /metrics` of a real router (in this process, real HTTP) in front of real plugin processes:
 * exact counts after requests of known outcomes, parsed with an npm Prometheus text parser.
 * @module
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { connect } from "@nats-io/transport-node";
import type { MsgHdrs } from "@nats-io/nats-core";
import { pipelineSettings, resolveConfig } from "../../src/config/mod.ts";
import type { ResolvedConfig } from "../../src/config/mod.ts";
import { RequestPipeline } from "../../src/pipeline/mod.ts";
import { noopLogger, systemClock } from "../../src/deps.ts";
import { RequestMux } from "../../src/bus/mod.ts";
import { Registry } from "../../src/registry/mod.ts";
import { createRouter } from "../../src/router/mod.ts";
import { captureLogger, waitFor } from "../../src/testing/mod.ts";
import { fixturePath, pluginPath, startStack } from "./_stack.ts";
import type { Stack } from "./_stack.ts";
import { family, parseExposition, sample, seriesCount } from "./_prometheus.ts";
import type { ParsedFamily } from "./_prometheus.ts";
import { findPromtool, promtoolCheckMetrics } from "./_promtool.ts";

/** Our own series, not prom-client's process set (which may grow, e.g. a first major GC). */
const OWN = (name: string) => name.startsWith("switchyard_") && !/^switchyard_(process|nodejs)_/.test(name);

describe("GET /metrics", () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack([fixturePath("traced"), pluginPath("hello")], {
      plugins: { hello: { rateLimit: { rps: 0.001, burst: 2 } } },
    });
  });
  after(() => stack[Symbol.asyncDispose]());

  const scrape = async (): Promise<{ text: string; families: ParsedFamily[]; type: string | null }> => {
    const res = await fetch(`${stack.url}/metrics`);
    assert.equal(res.status, 200);
    const text = await res.text();
    return { text, families: parseExposition(text), type: res.headers.get("content-type") };
  };

  test("after 100 requests of known outcomes: exact counts by code, histogram _count equal to the requests", async () => {
    const expected = new Map<string, number>();
    const send = async (path: string, body: unknown, status: number, labels: string) => {
      const res = await stack.post(path, body);
      assert.equal(res.status, status, `${path} → ${JSON.stringify(res.body)}`);
      expected.set(labels, (expected.get(labels) ?? 0) + 1);
    };
    // Failures interleaved with successes: never 5 in a row, so the breaker stays closed.
    await send("traced/echo", { text: "a" }, 200, "traced/echo/200");
    await send("traced/echo", { text: "b" }, 200, "traced/echo/200");
    for (let i = 0; i < 10; i++) {
      for (let j = 0; j < 5; j++) await send("traced/echo", { text: `t${i}${j}` }, 200, "traced/echo/200");
      await send("traced/echo", { text: 5 }, 422, "traced/echo/422");
      await send("traced/fail", {}, 502, "traced/fail/502");
      await send("traced/noSuchMethod", {}, 404, "traced/_unknown/404");
      await send("ghost/whatever", {}, 404, "_unknown/_unknown/404");
    }
    for (let i = 0; i < 5; i++) await send("hello/greet", { name: "Ada" }, i < 2 ? 200 : 429, `hello/greet/${i < 2 ? 200 : 429}`);
    // Odd calls of `flaky` answer 503 and the router retries them once: 3 requests, 3 retries.
    for (let i = 0; i < 3; i++) await send("traced/flaky", {}, 200, "traced/flaky/200");
    const total = [...expected.values()].reduce((a, b) => a + b, 0);
    assert.equal(total, 100);

    const { families, type, text } = await scrape();
    assert.match(type ?? "", /^text\/plain; version=0\.0\.4/);
    const requests = family(families, "switchyard_requests_total");
    assert.equal(requests.type, "COUNTER");
    const seen = new Map<string, number>();
    for (const m of requests.metrics) {
      if (Number(m.value) > 0) seen.set(`${m.labels!.plugin}/${m.labels!.method}/${m.labels!.code}`, Number(m.value));
    }
    assert.deepEqual(Object.fromEntries([...seen].sort()), Object.fromEntries([...expected].sort()), "counts by plugin, method and code");

    // Histogram: one child per plugin method; each _count is that method's requests, and they add up to 100.
    const counts = family(families, "switchyard_request_duration_seconds_count").metrics;
    let sum = 0;
    for (const m of counts) {
      const key = `${m.labels!.plugin}/${m.labels!.method}/`;
      const want = [...expected].filter(([k]) => k.startsWith(key)).reduce((a, [, n]) => a + n, 0);
      assert.equal(Number(m.value), want, `_count of ${key}`);
      sum += Number(m.value);
    }
    assert.equal(sum, 100, "histogram _count adds up to the requests");
    const buckets = family(families, "switchyard_request_duration_seconds_bucket").metrics.filter((m) => m.labels!.plugin === "traced" && m.labels!.method === "echo");
    assert.deepEqual(buckets.map((b) => b.labels!.le), ["0.0001", "0.00025", "0.0005", "0.001", "0.0025", "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10", "30", "+Inf"]);
    for (let i = 1; i < buckets.length; i++) assert.ok(Number(buckets[i]!.value) >= Number(buckets[i - 1]!.value), "cumulative buckets");
    assert.equal(Number(buckets.at(-1)!.value), 62);
    assert.ok(Number(sample(families, "switchyard_request_duration_seconds_sum", { plugin: "traced", method: "echo" })) > 0);

    assert.equal(sample(families, "switchyard_retries_total", { plugin: "traced" }), 3, "one retry per flaky request");
    assert.equal(sample(families, "switchyard_retry_budget_exhausted_total", { plugin: "traced" }), 0);
    assert.equal(sample(families, "switchyard_rate_limited_total", { plugin: "hello" }), 3);
    assert.equal(sample(families, "switchyard_rate_limited_total", { plugin: "traced" }), 0);
    assert.equal(sample(families, "switchyard_inflight_requests", { plugin: "traced" }), 0);
    assert.equal(sample(families, "switchyard_breaker_state", { plugin: "traced", method: "" }), 0, "closed");
    assert.equal(sample(families, "switchyard_ejected_instances", { plugin: "traced" }), 0);
    assert.equal(sample(families, "switchyard_nats_connected"), 1);
    assert.equal(sample(families, "switchyard_nats_reconnects_total"), 0);
    assert.ok(Number(sample(families, "switchyard_process_resident_memory_bytes")) > 0, "process metrics");
    assert.ok(sample(families, "switchyard_process_cpu_seconds_total") !== undefined);
    assert.ok(sample(families, "switchyard_nodejs_eventloop_lag_p99_seconds") !== undefined);
    assert.ok(!text.includes("ghost") && !text.includes("noSuchMethod"), "unknown names never become label values");
  });

  test("1000 requests to random unknown plugins and methods grow the series by at most 5", async () => {
    const before = seriesCount((await scrape()).families, OWN);
    const names = ["x", "Zz", "a.b", "q-1", "_p", "very-long-plugin-name-that-is-valid", "%2e%2e", "ok9"];
    let next = 0;
    const statuses = new Map<number, number>();
    const worker = async () => {
      while (next < 1000) {
        const i = next++;
        const plugin = `${names[i % names.length]}${Math.random().toString(36).slice(2, 8)}`;
        const method = `m${Math.random().toString(36).slice(2, 10)}`;
        const res = await fetch(`${stack.url}/v1/${plugin}/${method}`, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
        await res.arrayBuffer();
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
      }
    };
    await Promise.all(Array.from({ length: 20 }, worker));
    assert.equal([...statuses.values()].reduce((a, b) => a + b, 0), 1000);
    assert.deepEqual([...statuses.keys()], [404]);
    const { families } = await scrape();
    const after = seriesCount(families, OWN);
    console.log(`series (own families): ${before} before, ${after} after 1000 random unknown names`);
    assert.ok(after - before <= 5, `grew by ${after - before}`);
    assert.ok(Number(sample(families, "switchyard_requests_total", { plugin: "_unknown", method: "_unknown", code: "404" })) >= 1010);

    // Random methods of a known plugin fold into its `_unknown` method: no growth either.
    const beforeKnown = after;
    for (let i = 0; i < 200; i++) await stack.post(`traced/m${Math.random().toString(36).slice(2, 10)}`, {});
    const afterKnown = seriesCount((await scrape()).families, OWN);
    assert.ok(afterKnown - beforeKnown <= 5, `grew by ${afterKnown - beforeKnown}`);
  });

  test("tracing off: no trace headers on the bus; the breaker state turns 1 when the circuit opens", async () => {
    const nc = await connect({ servers: stack.nats.url });
    try {
      const seen: (MsgHdrs | undefined)[] = [];
      nc.subscribe("sy.>", { callback: (_err, msg) => void seen.push(msg.headers) });
      await nc.flush();
      assert.equal((await stack.post("traced/echo", { text: "quiet" })).status, 200);
      await waitFor(() => seen.length > 0);
      assert.ok(seen.every((h) => h !== undefined && h.get("sy-request-id") !== "" && !h.has("traceparent")), "no traceparent without a tracer");
    } finally {
      await nc.close();
    }
    for (let i = 0; i < 5; i++) assert.equal((await stack.post("traced/fail", {})).status, 502);
    assert.equal((await stack.post("traced/fail", {})).body.error.code, "circuit_open");
    const { families } = await scrape();
    assert.equal(sample(families, "switchyard_breaker_state", { plugin: "traced", method: "" }), 1, "open");
    assert.equal(sample(families, "switchyard_requests_total", { plugin: "traced", method: "fail", code: "503" }), 1);
  });

  const promtool = findPromtool();
  test("promtool check metrics accepts /metrics: after requests of every outcome, with and without process metrics", {
    skip: promtool === undefined ? "promtool is not installed (apt-get install prometheus, or scripts/bootstrap.sh)" : false,
  }, async () => {
    // After the tests above: 2xx-5xx codes, _unknown folds, retries, rate limits, an open breaker.
    const { text } = await scrape();
    const live = await promtoolCheckMetrics(promtool!, text);
    assert.deepEqual(live, { code: 0, out: "" }, live.out);
    const mux = new RequestMux(stack.router.nc);
    try {
      const bareConfig = resolveConfig({ metrics: { processMetrics: false } }, {});
      const pipeline = new RequestPipeline({ registry: new Registry("sy"), mux, settings: pipelineSettings(bareConfig), clock: systemClock, logger: noopLogger });
      const bare = createRouter({ pipeline, settings: () => bareConfig });
      assert.deepEqual(await promtoolCheckMetrics(promtool!, await (await bare.request("/metrics")).text()), { code: 0, out: "" });
    } finally {
      mux.close();
    }
  });

  test("metrics.enabled: false serves no /metrics; metrics.path moves it", async () => {
    const mux = new RequestMux(stack.router.nc);
    const pipelineOf = (m: RequestMux, c: ResolvedConfig) =>
      new RequestPipeline({ registry: new Registry("sy"), mux: m, settings: pipelineSettings(c), clock: systemClock, logger: noopLogger });
    try {
      const offConfig = resolveConfig({ metrics: { enabled: false } }, {});
      const off = createRouter({ pipeline: pipelineOf(mux, offConfig), settings: () => offConfig });
      const res = await off.request("/metrics");
      assert.equal(res.status, 404);
      assert.equal((await res.json()).error.code, "not_found");
      const logs = captureLogger();
      const movedConfig = resolveConfig({ metrics: { path: "/internal/metrics", processMetrics: false }, log: { level: "debug" } }, {});
      const moved = createRouter({ pipeline: pipelineOf(mux, movedConfig), settings: () => movedConfig, deps: { logger: logs } });
      const miss = await moved.request("/v1/ghost/x", { method: "POST", headers: { "content-type": "application/json", "x-request-id": "acc-1" }, body: "{}" });
      assert.equal(miss.status, 404);
      const line = logs.entries.find((e) => e.msg === "request");
      assert.ok(line !== undefined && line.level === "debug", "log.level debug writes an access line per request");
      assert.deepEqual({ ...line.attrs, ms: 0 }, { requestId: "acc-1", plugin: "_unknown", method: "_unknown", status: 404, code: "plugin_not_found", ms: 0, instance: "" });
      const text = await (await moved.request("/internal/metrics")).text();
      assert.ok(parseExposition(text).some((f) => f.name === "switchyard_requests_total"));
      assert.ok(!text.includes("switchyard_process_"), "processMetrics: false");
    } finally {
      mux.close();
    }
  });
});
