/**
 * One trace per request across processes: the router and a plugin run as their own processes with
 * the OpenTelemetry SDK started by the CLI, exporting OTLP/HTTP protobuf to a real receiver here.
 * @module
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { currentRuntime, runtimeCommand } from "../../src/runtime/mod.ts";
import { spawnProcess, startNatsServer, waitFor } from "../../src/testing/mod.ts";
import type { ProcessHandle } from "../../src/testing/mod.ts";
import { SpanKind, startOtlpReceiver } from "../../src/testing/otlp_receiver.ts";
import type { OtlpReceiver, ReceivedSpan } from "../../src/testing/otlp_receiver.ts";
import { CLI, fixturePath } from "./_stack.ts";
import { startTracedStack } from "./_traced_stack.ts";
import { startRouterProcess } from "./_router_process.ts";

const STATUS_ERROR = 2;

describe("tracing across the router and plugin processes", () => {
  let receiver: OtlpReceiver;
  let plugin: ProcessHandle;
  let url: string;

  let stopStack: (() => Promise<void>) | undefined;

  before(async () => {
    ({ receiver, plugin, url } = await startTracedStack("traced", (stop) => stopStack = stop));
  });
  after(() => stopStack?.());

  const newTraceparent = () => {
    const traceId = randomBytes(16).toString("hex");
    const parentId = randomBytes(8).toString("hex");
    return { traceId, parentId, header: `00-${traceId}-${parentId}-01` };
  };
  const post = async (path: string, body: unknown, headers: Record<string, string> = {}) => {
    const res = await fetch(`${url}/v1/${path}`, {
      method: "POST",
      headers: { "content-type": "application/json", ...headers },
      body: JSON.stringify(body),
    });
    return { status: res.status, headers: res.headers, body: await res.json() as Record<string, unknown> };
  };
  /** Waits until the trace holds `count` spans (export is batched), then returns them. */
  const spansOf = async (traceId: string, count: number): Promise<ReceivedSpan[]> => {
    await waitFor(() => receiver.trace(traceId).length >= count, {
      timeoutMs: 10_000,
      message: () => `${count} spans of trace ${traceId} (have: ${receiver.trace(traceId).map((s) => `${s.service}:${s.name}`).join(", ")})`,
    });
    return receiver.trace(traceId);
  };
  const only = (spans: ReceivedSpan[], pred: (s: ReceivedSpan) => boolean, what: string): ReceivedSpan => {
    const found = spans.filter(pred);
    assert.equal(found.length, 1, `one ${what} (spans: ${spans.map((s) => `${s.service}:${s.name}:${s.kind}`).join(", ")})`);
    return found[0]!;
  };

  test("a request with a traceparent: router SERVER → NATS CLIENT → plugin SERVER, one trace id, right kinds and attributes", async () => {
    const tp = newTraceparent();
    const res = await post("traced/echo", { text: "hi" }, { traceparent: tp.header, "x-request-id": "trace-req-1" });
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, { text: "hi", traced: true });
    const spans = await spansOf(tp.traceId, 3);
    assert.equal(spans.length, 3);

    const server = only(spans, (s) => s.service === "switchyard-router" && s.kind === SpanKind.SERVER, "router server span");
    assert.equal(server.parentSpanId, tp.parentId, "the router span continues the client's traceparent");
    assert.equal(server.name, "POST /v1/traced/echo");
    assert.equal(server.statusCode, 0);
    assert.equal(server.attributes["http.request.method"], "POST");
    assert.equal(server.attributes["http.route"], "/v1/traced/echo");
    assert.equal(server.attributes["url.path"], "/v1/traced/echo");
    assert.equal(server.attributes["http.response.status_code"], 200);
    assert.equal(server.attributes["switchyard.request_id"], "trace-req-1");

    const client = only(spans, (s) => s.kind === SpanKind.CLIENT, "NATS client span");
    assert.equal(client.service, "switchyard-router");
    assert.equal(client.parentSpanId, server.spanId);
    assert.equal(client.attributes["messaging.system"], "nats");
    assert.match(String(client.attributes["messaging.destination.name"]), /^sy\./);
    assert.equal(client.attributes["switchyard.attempt"], 1);
    assert.equal(client.attributes["switchyard.instance.id"], res.headers.get("x-plugin-instance"));
    assert.equal(client.statusCode, 0);

    const handler = only(spans, (s) => s.service === "plugin-traced", "plugin span");
    assert.equal(handler.kind, SpanKind.SERVER);
    assert.equal(handler.parentSpanId, client.spanId, "the plugin span sits under the attempt that reached it");
    assert.equal(handler.name, "process traced.echo");
    assert.equal(handler.attributes["switchyard.request_id"], "trace-req-1");
    assert.equal(handler.attributes["traced.text"], "hi", "ctx.span is the request's span");
    // The SDK anchors each span's clock to the wall clock when it starts: spans of one request can
    // disagree by a fraction of a millisecond, so the check allows one.
    const slackNs = 1_000_000;
    assert.ok(server.startNs <= client.startNs + slackNs && client.endNs <= server.endNs + slackNs, "the attempt lies within the request");

    // The handler's log line carries the same trace id.
    const line = plugin.lines.find((l) => l.includes('"msg":"echo"') && l.includes(tp.traceId));
    assert.ok(line !== undefined, "ctx.logger adds traceId");
    const entry = JSON.parse(line);
    assert.equal(entry.requestId, "trace-req-1");
    assert.equal(entry.plugin, "traced");
    assert.equal(entry.instance, res.headers.get("x-plugin-instance"));
    assert.equal(entry.level, "info");
  });

  test("a nested ctx.call adds its spans under the caller's span", async () => {
    const tp = newTraceparent();
    const res = await post("traced/relay", { text: "x" }, { traceparent: tp.header });
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, { text: "relayed x" });
    // router server, router client, relay server, relay.prepare (the handler's own), nested client, echo server
    const spans = await spansOf(tp.traceId, 6);
    const relay = only(spans, (s) => s.name === "process traced.relay", "relay span");
    const own = only(spans, (s) => s.name === "relay.prepare", "the handler's own span");
    assert.equal(own.parentSpanId, relay.spanId, "a span the handler starts is a child of ctx.span");
    const nested = only(spans, (s) => s.kind === SpanKind.CLIENT && s.service === "plugin-traced", "nested client span");
    assert.equal(nested.parentSpanId, own.spanId, "ctx.call runs in the active span");
    // ctx.call goes through the router's pipeline: the balancer picks the instance, as for an HTTP call.
    const instance = String(nested.attributes["switchyard.instance.id"]);
    assert.equal(nested.attributes["messaging.destination.name"], `sy.$i.traced.${instance}.echo`, "the picked instance's own subject");
    assert.equal(nested.attributes["switchyard.attempt"], 1);
    const echo = only(spans, (s) => s.name === "process traced.echo", "nested echo span");
    assert.equal(echo.parentSpanId, nested.spanId);
    assert.equal(echo.attributes["switchyard.nested"], true);
    const routerClient = only(spans, (s) => s.kind === SpanKind.CLIENT && s.service === "switchyard-router", "router client span");
    assert.equal(relay.parentSpanId, routerClient.spanId);
  });

  test("a failing handler: error status on the plugin, client and router spans, exception recorded on the plugin's only", async () => {
    const tp = newTraceparent();
    const res = await post("traced/fail", {}, { traceparent: tp.header });
    assert.equal(res.status, 502);
    assert.equal((res.body.error as { code: string }).code, "plugin_error");
    const spans = await spansOf(tp.traceId, 3);
    const server = only(spans, (s) => s.kind === SpanKind.SERVER && s.service === "switchyard-router", "router span");
    assert.equal(server.statusCode, STATUS_ERROR);
    assert.equal(server.attributes["http.response.status_code"], 502);
    assert.equal(server.attributes["switchyard.error.code"], "plugin_error");
    const client = only(spans, (s) => s.kind === SpanKind.CLIENT, "client span");
    assert.equal(client.statusCode, STATUS_ERROR);
    const handler = only(spans, (s) => s.service === "plugin-traced", "plugin span");
    assert.equal(handler.statusCode, STATUS_ERROR);
    assert.ok(handler.events.includes("exception"), "the plugin span records the exception");
    assert.ok(!JSON.stringify(res.body).includes("secret"), "the client sees no detail");
  });

  test("a retried request: one client span per attempt, numbered, and a retry event on the router span", async () => {
    const tp = newTraceparent();
    const res = await post("traced/flaky", {}, { traceparent: tp.header });
    assert.equal(res.status, 200);
    // router server, two attempts, two plugin spans
    const spans = await spansOf(tp.traceId, 5);
    const attempts = spans.filter((s) => s.kind === SpanKind.CLIENT).sort((a, b) => Number(a.attributes["switchyard.attempt"]) - Number(b.attributes["switchyard.attempt"]));
    assert.deepEqual(attempts.map((a) => a.attributes["switchyard.attempt"]), [1, 2]);
    assert.equal(attempts[0]!.statusCode, STATUS_ERROR);
    assert.equal(attempts[0]!.attributes["switchyard.error.code"], "busy");
    assert.equal(attempts[1]!.statusCode, 0);
    const handlers = spans.filter((s) => s.service === "plugin-traced");
    assert.deepEqual(new Set(handlers.map((h) => h.parentSpanId)), new Set(attempts.map((a) => a.spanId)), "each attempt reached the plugin");
    const server = only(spans, (s) => s.kind === SpanKind.SERVER && s.service === "switchyard-router", "router span");
    const i = server.events.indexOf("retry");
    assert.ok(i >= 0, `a retry event (events: ${server.events.join(", ")})`);
    assert.equal(server.eventAttributes[i]!["switchyard.attempt"], 2);
    assert.equal(server.eventAttributes[i]!["switchyard.retry.reason"], "busy");
    assert.equal(server.statusCode, 0);
  });

  test("without a traceparent the router starts the trace; an unknown plugin still gets a low-cardinality span name", async () => {
    const before = receiver.spans.length;
    const res = await post("traced/echo", { text: "root" }, { "x-request-id": "trace-root" });
    assert.equal(res.status, 200);
    const missing = await post("nope-plugin/what", {}, { "x-request-id": "trace-missing" });
    assert.equal(missing.status, 404);
    await waitFor(() => receiver.spans.slice(before).some((s) => s.attributes["switchyard.request_id"] === "trace-missing"), { timeoutMs: 10_000 });
    await waitFor(() => receiver.spans.slice(before).filter((s) => s.attributes["switchyard.request_id"] === "trace-root").length >= 2, { timeoutMs: 10_000 });
    const root = receiver.spans.find((s) => s.attributes["switchyard.request_id"] === "trace-root" && s.service === "switchyard-router")!;
    assert.equal(root.parentSpanId, "", "a root span");
    assert.match(root.traceId, /^[0-9a-f]{32}$/);
    const notFound = receiver.spans.find((s) => s.attributes["switchyard.request_id"] === "trace-missing")!;
    assert.equal(notFound.name, "POST /v1/:plugin/:method");
    assert.equal(notFound.attributes["http.response.status_code"], 404);
    assert.equal(notFound.statusCode, 0, "a 4xx is the client's, not an error of the server span");
  });

  // Last: it stops the plugin.
  test("a drain that reaches a running request shows on its span; the request still succeeds", async () => {
    const tp = newTraceparent();
    // The handler runs until the SIGTERM below: the drain reaches it however slow the machine.
    const pending = post("traced/untilSigterm", {}, { traceparent: tp.header });
    await plugin.waitForLine(tp.traceId, 20_000); // the handler's "waiting for SIGTERM" line: it is running
    plugin.kill("SIGTERM");
    const res = await pending;
    assert.equal(res.status, 200);
    assert.equal((await plugin.exited).code, 0);
    const spans = await spansOf(tp.traceId, 3);
    const handler = only(spans, (s) => s.service === "plugin-traced", "plugin span");
    assert.ok(handler.events.includes("instance draining: finishing this request"), `events: ${handler.events.join(", ")}`);
    assert.equal(handler.statusCode, 0);
  });
});

// Deno's built-in OpenTelemetry, asked for with OTEL_DENO=true: Switchyard starts no SDK of its own,
// and its spans go out through Deno's exporter. Deno opens an HTTP span of its own only for
// `Deno.serve` (connection guard off); the guard's own server has none, and the router's span
// continues the client's trace itself. Run once (on the Deno leg of the suite).
if (currentRuntime() === "deno") {
  describe("OTEL_DENO=true on the router", () => {
    const traced = async (guard: "auto" | "off") => {
      await using nats = await startNatsServer();
      await using receiver = await startOtlpReceiver();
      await using plugin = spawnProcess(runtimeCommand("deno", CLI, ["plugin", fixturePath("traced"), "--nats", nats.url]), {
        name: "traced",
        env: { OTEL_EXPORTER_OTLP_ENDPOINT: undefined },
      });
      await plugin.waitForLine("plugin ready", 60_000);
      await using router = await startRouterProcess(nats.url, {
        runtime: "deno",
        config: { router: { connectionGuard: guard } },
        env: { OTEL_DENO: "true", OTEL_DENO_CONSOLE: "ignore", OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_SERVICE_NAME: "deno-router", OTEL_BSP_SCHEDULE_DELAY: "100" },
      });
      assert.ok(router.lines.some((l) => l.includes("tracing through Deno's built-in OpenTelemetry")));
      await router.waitForPlugin("traced");
      const traceId = randomBytes(16).toString("hex");
      const parentId = randomBytes(8).toString("hex");
      const res = await fetch(`${router.url}/v1/traced/echo`, {
        method: "POST",
        headers: { "content-type": "application/json", traceparent: `00-${traceId}-${parentId}-01` },
        body: JSON.stringify({ text: "deno" }),
      });
      assert.equal(res.status, 200);
      await res.arrayBuffer();
      const expected = guard === "off" ? 3 : 2;
      await waitFor(() => receiver.trace(traceId).length >= expected, { timeoutMs: 15_000, message: "Deno's exporter to send the router's spans" });
      const spans = receiver.trace(traceId);
      assert.ok(spans.every((s) => s.service === "deno-router"), "one exporter: Deno's");
      const ours = spans.find((s) => s.name === "POST /v1/traced/echo")!;
      const attempt = spans.find((s) => s.kind === SpanKind.CLIENT)!;
      assert.equal(attempt.parentSpanId, ours.spanId);
      return { spans, ours, parentId };
    };

    test("connection guard off (Deno.serve): Deno's own HTTP span continues the traceparent; the router's spans go under it", async () => {
      const { spans, ours, parentId } = await traced("off");
      const deno = spans.find((s) => s.parentSpanId === parentId)!;
      assert.equal(deno.kind, SpanKind.SERVER, "Deno's HTTP span continues the client's traceparent");
      assert.equal(ours.parentSpanId, deno.spanId, "the router's span sits under Deno's");
    });

    test("behind the connection guard (the default): the router's span continues the traceparent, through Deno's exporter", async () => {
      const { spans, ours, parentId } = await traced("auto");
      assert.equal(ours.parentSpanId, parentId, "the router's span continues the client's traceparent");
      assert.equal(ours.kind, SpanKind.SERVER);
      assert.equal(spans.filter((s) => s.kind === SpanKind.SERVER).length, 1, "no HTTP span of Deno's");
    });
  });
}
