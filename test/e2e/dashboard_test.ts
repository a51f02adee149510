/**
 * The dashboard against a real router (in this process, real HTTP), a real nats-server and real
 * plugin processes that export their spans to the router's `POST /v1/traces`, as `switchyard dev`
 * has them do.
 * @module
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { currentRuntime, runtimeCommand } from "../../src/runtime/mod.ts";
import { resolveConfig } from "../../src/config/mod.ts";
import { startRouter } from "../../src/cli/router_command.ts";
import type { StartedRouter } from "../../src/cli/router_command.ts";
import { pluginTraceEnv } from "../../src/cli/dev_command.ts";
import { captureLogger, spawnProcess, startNatsServer, waitFor } from "../../src/testing/mod.ts";
import type { NatsServer, ProcessHandle } from "../../src/testing/mod.ts";
import type { DashboardSnapshot } from "../../src/router/dashboard_view.ts";
import { CLI, fixturePath, pluginPath } from "./_stack.ts";
import { SseReader } from "./_sse.ts";

const MAX_SPANS = 300;

describe("the dashboard with a real router and plugins exporting their spans to it", () => {
  let nats: NatsServer;
  let router: StartedRouter;
  let url: string;
  const plugins: ProcessHandle[] = [];

  before(async () => {
    nats = await startNatsServer();
    const config = resolveConfig({
      nats: { servers: [nats.url] },
      router: { host: "127.0.0.1", port: 0, traces: { enabled: true, maxSpans: MAX_SPANS } },
      admin: { enabled: true },
    }, {});
    router = await startRouter(config, captureLogger(), { env: {} });
    url = `http://127.0.0.1:${router.port}`;
    const env = {
      ...pluginTraceEnv(url, {}),
      OTEL_BSP_SCHEDULE_DELAY: "50",
      OTEL_EXPORTER_OTLP_ENDPOINT: undefined,
      OTEL_SERVICE_NAME: undefined,
      OTEL_TRACES_SAMPLER: undefined,
    };
    plugins.push(
      ...await Promise.all([fixturePath("traced"), pluginPath("hello")].map(async (module) => {
        const p = spawnProcess(
          runtimeCommand(currentRuntime(), CLI, ["plugin", module, "--nats", nats.url]),
          { name: module, env },
        );
        await p.waitForLine("plugin ready", 20_000);
        return p;
      })),
    );
    await waitFor(
      () => Boolean(router.registry.pick("traced", undefined) && router.registry.pick("hello", undefined)),
      { timeoutMs: 10_000, message: "the router to find both plugins" },
    );
  });
  after(async () => {
    await Promise.all(plugins.map((p) => p.stop(5_000)));
    await router?.stop();
    await nats?.stop();
  });

  const post = async (path: string, body: unknown, headers: Record<string, string> = {}) => {
    const res = await fetch(`${url}/v1/${path}`, {
      method: "POST",
      headers: { "content-type": "application/json", ...headers },
      body: JSON.stringify(body),
    });
    return { status: res.status, headers: res.headers, body: await res.json() as Record<string, unknown> };
  };
  const plugin = (snap: DashboardSnapshot, name: string) => snap.plugins.find((p) => p.name === name);
  const instances = (snap: DashboardSnapshot, name: string) =>
    plugin(snap, name)?.versions.flatMap((v) => v.instances) ?? [];

  test("GET /dashboard serves one page with its own script and stylesheet, under a strict content policy", async () => {
    const page = await fetch(`${url}/dashboard`);
    assert.equal(page.status, 200);
    assert.match(page.headers.get("content-type")!, /^text\/html/);
    assert.match(page.headers.get("content-security-policy")!, /script-src 'self'/);
    const html = await page.text();
    assert.match(html, /<script src="\/dashboard\/app\.js"/);
    assert.doesNotMatch(html, /https?:\/\//, "nothing from another origin");
    const script = await fetch(`${url}/dashboard/app.js`);
    assert.match(script.headers.get("content-type")!, /^text\/javascript/);
    assert.match(await script.text(), /new EventSource\("\/dashboard\/events"\)/);
    assert.equal((await fetch(`${url}/dashboard/app.css`)).status, 200);
  });

  test("GET /dashboard/events: instances appear with their runtime, counts and rates move, an error shows with its request and trace ids", async () => {
    const res = await fetch(`${url}/dashboard/events`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("content-type"), "text/event-stream");
    const events = new SseReader(res);
    try {
      const first = await events.until<DashboardSnapshot>(
        (s) => instances(s, "traced").length === 1,
        10_000,
        "the traced instance",
      );
      const instance = instances(first, "traced")[0]!;
      assert.equal(instance.runtime, currentRuntime());
      assert.equal(instance.state, "serving");
      assert.equal(plugin(first, "traced")!.state, "serving");
      assert.equal(plugin(first, "traced")!.series.rps.length, 300, "five minutes, a point a second");
      assert.notEqual(first.router.traces, null);
      assert.deepEqual(first.router.actions, { drain: true, reload: true, token: false });

      for (let i = 0; i < 20; i++) assert.equal((await post("traced/echo", { text: `n${i}` })).status, 200);
      const moved = await events.until<DashboardSnapshot>(
        (s) => (plugin(s, "traced")?.requests ?? 0) >= 20,
        10_000,
        "20 requests counted",
      );
      const traced = plugin(moved, "traced")!;
      assert.ok(traced.rps > 0, "requests per second over the last seconds");
      assert.ok(traced.p99Ms > 0 && traced.p50Ms > 0 && traced.p99Ms >= traced.p50Ms);
      assert.equal(
        traced.series.rps.reduce((a, b) => a + b, 0),
        traced.requests,
        "the series holds every request",
      );
      assert.equal(instances(moved, "traced")[0]!.requests, 20, "counted against the instance that served");
      assert.deepEqual(traced.canary.observed, { "1.0.0": 1 });
      assert.ok(traced.retryBudget !== null && traced.breaker?.state === "closed", "the plugin's policies");
      assert.ok(events.count >= 2, "more than one snapshot came");

      const failed = await post("traced/fail", {}, { "x-request-id": "dash-err-1" });
      assert.equal(failed.status, 502);
      const withError = await events.until<DashboardSnapshot>(
        (s) => s.errors.some((e) => e.requestId === "dash-err-1"),
        10_000,
        "the error listed",
      );
      const error = withError.errors.find((e) => e.requestId === "dash-err-1")!;
      assert.equal(error.code, "plugin_error");
      assert.equal(error.status, 502);
      assert.equal(error.plugin, "traced");
      assert.equal(error.method, "fail");
      assert.match(error.traceId, /^[0-9a-f]{32}$/);
      assert.equal(error.instance, instance.id);
      assert.equal(plugin(withError, "traced")!.errors, 1);
    } finally {
      await events.close();
    }
  });

  test("the span ring holds the router's and the plugin's spans of one request, nested, and switchyard trace prints the tree", async () => {
    const res = await post("traced/relay", { text: "hi" }, { "x-request-id": "dash-trace-1" });
    assert.equal(res.status, 200);
    type Rows = {
      traceId: string;
      requestId: string;
      rows: { depth: number; span: { name: string; service: string; kind: string } }[];
    };
    let trace: Rows | undefined;
    await waitFor(async () => {
      const r = await fetch(`${url}/dashboard/api/traces/dash-trace-1`);
      trace = r.status === 200 ? await r.json() as Rows : undefined;
      return (trace?.rows.length ?? 0) >= 6;
    }, {
      timeoutMs: 15_000,
      message: () => `6 spans of dash-trace-1 (have ${trace?.rows.map((r) => r.span.name).join(", ")})`,
    });
    const shape = trace!.rows.map((
      r,
    ) => [r.depth, r.span.service, r.span.kind, r.span.name.replace(/sy\.traced\.[^ ]+\./, "sy.traced.*.")]);
    assert.deepEqual(shape, [
      [0, "switchyard-router", "server", "POST /v1/traced/relay"],
      [1, "switchyard-router", "client", "send sy.traced.*.relay"],
      [2, "plugin-traced", "server", "process traced.relay"],
      [3, "plugin-traced", "internal", "relay.prepare"],
      [4, "plugin-traced", "client", "send sy.traced.*.echo"],
      [5, "plugin-traced", "server", "process traced.echo"],
    ]);
    assert.equal(trace!.requestId, "dash-trace-1");
    const byTraceId = await (await fetch(`${url}/dashboard/api/traces/${trace!.traceId}`)).json() as Rows;
    assert.equal(byTraceId.rows.length, 6, "the same trace by its trace id");

    await using cli = spawnProcess(
      runtimeCommand(currentRuntime(), CLI, ["trace", "dash-trace-1", "--router", url]),
      { name: "trace" },
    );
    assert.equal((await cli.exited).code, 0, cli.lines.join("\n"));
    const out = cli.lines.join("\n");
    // deno-lint-ignore no-console
    console.log(out);
    assert.match(out, new RegExp(`^trace ${trace!.traceId}  request dash-trace-1  6 spans`, "m"));
    assert.match(
      out,
      / {2}POST \/v1\/traced\/relay {2}\[switchyard-router server\] {2}instance=\S+ {2}status=200/,
    );
    assert.match(
      out,
      / {2}└─ send sy\.traced\.\S+\.relay {2}\[switchyard-router client\] {2}attempt=1 {2}instance=/,
    );
    assert.match(out, / {14}└─ process traced\.echo {2}\[plugin-traced server\]/);
    await using missing = spawnProcess(
      runtimeCommand(currentRuntime(), CLI, ["trace", "no-such-request", "--router", url]),
      { name: "trace" },
    );
    assert.equal((await missing.exited).code, 1);
    assert.match(missing.lines.join("\n"), /404 not_found: No spans of trace or request "no-such-request"/);
  });

  test("actions: drain and resume from the dashboard; a cross-site or non-JSON post is refused", async () => {
    const act = (action: string, headers: Record<string, string> = { "content-type": "application/json" }) =>
      fetch(`${url}/dashboard/actions/hello/${action}`, { method: "POST", headers, body: "{}" });
    const drained = await act("drain");
    assert.equal(drained.status, 200);
    const body = await drained.json() as { ok: boolean; message: string };
    assert.equal(body.ok, true);
    assert.match(body.message, /hello drained/);
    const refused = await post("hello/greet", { name: "x" });
    assert.equal(refused.status, 503);
    assert.equal((refused.body.error as { code: string }).code, "draining");
    const snap = await (await fetch(`${url}/dashboard/api/snapshot`)).json() as DashboardSnapshot;
    assert.equal(plugin(snap, "hello")!.state, "draining");
    assert.equal((await act("resume")).status, 200);
    assert.equal((await post("hello/greet", { name: "x" })).status, 200);

    assert.equal(
      (await act("drain", { "content-type": "text/plain" })).status,
      415,
      "a simple (cross-site capable) post",
    );
    assert.equal(
      (await act("drain", { "content-type": "application/json", origin: "http://elsewhere.example" })).status,
      403,
    );
    assert.equal((await act("explode")).status, 404);
    assert.equal(
      (await fetch(`${url}/dashboard/actions/nope/drain`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: "{}",
      })).status,
      404,
    );
    const reload = await act("reload");
    assert.equal(reload.status, 200);
    assert.deepEqual(await reload.json(), {
      plugin: "hello",
      action: "reload",
      ok: false,
      message: `No supervisor runs "hello" (or this router may not publish to sy.$sup.reload)`,
    });
  });

  test("POST /v1/traces refuses what is not an OTLP export, with JSON errors", async () => {
    const otlp = (type: string, body: string) =>
      fetch(`${url}/v1/traces`, { method: "POST", headers: { "content-type": type }, body });
    const bad = await otlp("application/json", "{not json");
    assert.equal(bad.status, 400);
    assert.equal((await bad.json() as { error: { code: string } }).error.code, "invalid_request");
    assert.equal((await otlp("text/plain", "x")).status, 415);
    assert.equal((await otlp("application/json", "{}")).status, 200);
  });

  test("memory stays bounded: the ring keeps its last spans after many requests, and an evicted request is no longer found", async () => {
    assert.equal(
      (await post("traced/echo", { text: "first" }, { "x-request-id": "dash-oldest" })).status,
      200,
    );
    for (let i = 0; i < 150; i++) {
      assert.equal(
        (await post("traced/echo", { text: `n${i}` }, { "x-request-id": `dash-many-${i}` })).status,
        200,
      );
    }
    type Listing = { capacity: number; size: number; evicted: number; traces: unknown[] };
    let listing: Listing | undefined;
    // 151 requests of 3 spans each (2 router, 1 plugin): more than the ring holds.
    await waitFor(async () => {
      listing = await (await fetch(`${url}/dashboard/api/traces?limit=500`)).json() as Listing;
      return listing.evicted >= 151 * 3 - MAX_SPANS;
    }, {
      timeoutMs: 15_000,
      message: () => `the plugin's spans to arrive (${JSON.stringify({ ...listing, traces: undefined })})`,
    });
    assert.equal(listing!.capacity, MAX_SPANS);
    assert.equal(listing!.size, MAX_SPANS);
    assert.ok(listing!.traces.length <= 200);
    assert.equal((await fetch(`${url}/dashboard/api/traces/dash-oldest`)).status, 404);
    assert.equal((await fetch(`${url}/dashboard/api/traces/dash-many-149`)).status, 200);
    assert.equal(router.spans!.size, MAX_SPANS);
    assert.ok(router.spans!.traceCount <= MAX_SPANS && router.spans!.requestCount <= MAX_SPANS);
  });

  test("under concurrent load the ring never holds more than its bound, nor do its indexes", async () => {
    const ring = router.spans!;
    const peak = { size: 0, traces: 0, requests: 0, samples: 0 };
    const sample = () => {
      peak.size = Math.max(peak.size, ring.size);
      peak.traces = Math.max(peak.traces, ring.traceCount);
      peak.requests = Math.max(peak.requests, ring.requestCount);
      peak.samples++;
    };
    // Spans arrive between event-loop turns (the router's own, and the plugin's exports): sample at each.
    const timer = setInterval(sample, 1);
    const evictedBefore = ring.evicted;
    let listed = 0;
    try {
      // 16 clients at once, 40 requests each, of both plugins: about 2,000 spans into a ring of 300.
      await Promise.all(Array.from({ length: 16 }, async (_, c) => {
        for (let i = 0; i < 40; i++) {
          const path = i % 4 === 0 ? "hello/greet" : "traced/relay";
          const res = await post(path, i % 4 === 0 ? { name: `c${c}` } : { text: `c${c}-${i}` }, {
            "x-request-id": `load-${c}-${i}`,
          });
          assert.equal(res.status, 200);
          if (c === 0 && i % 10 === 0) {
            const api = await (await fetch(`${url}/dashboard/api/traces?limit=500`)).json() as {
              size: number;
            };
            assert.ok(api.size <= MAX_SPANS, `the API says ${api.size}`);
            listed++;
          }
        }
      }));
      // The plugin's last exports come after its answers.
      await waitFor(() => ring.evicted - evictedBefore >= 1_500, {
        timeoutMs: 15_000,
        message: "the exports to land",
      });
    } finally {
      clearInterval(timer);
    }
    sample();
    // deno-lint-ignore no-console
    console.log(`ring under load: ${ring.evicted - evictedBefore} evicted, peaks ${JSON.stringify(peak)}`);
    assert.ok(peak.samples > 10 && listed === 4);
    assert.equal(peak.size, MAX_SPANS);
    assert.ok(peak.traces <= MAX_SPANS && peak.requests <= MAX_SPANS, JSON.stringify(peak));
    assert.equal(
      (await fetch(`${url}/dashboard/api/traces/load-0-0`)).status,
      404,
      "the first request left the ring",
    );
  });
});
