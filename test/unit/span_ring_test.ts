import { test } from "node:test";
import assert from "node:assert/strict";
import { context, ROOT_CONTEXT, SpanKind as ApiSpanKind, SpanStatusCode, trace } from "@opentelemetry/api";
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from "@opentelemetry/sdk-trace";
import { JsonTraceSerializer, ProtobufTraceSerializer } from "@opentelemetry/otlp-transformer";
import { SpanRing } from "../../src/telemetry/span_ring.ts";
import { ringTracer } from "../../src/telemetry/ring_tracer.ts";
import { traceTree } from "../../src/telemetry/trace_tree.ts";
import { decodeOtlpJson } from "../../src/telemetry/otlp_json.ts";
import { decodeOtlpProtobuf } from "../../src/telemetry/otlp_protobuf.ts";
import { MAX_SPAN_ATTRIBUTES, MAX_SPAN_TEXT } from "../../src/telemetry/span_record.ts";
import type { SpanRecord } from "../../src/telemetry/span_record.ts";

const hex = (n: number, width: number) => n.toString(16).padStart(width, "0");
const span = (
  trace: number,
  id: number,
  parent: number | undefined,
  extra: Partial<SpanRecord> = {},
): SpanRecord => ({
  traceId: hex(trace, 32),
  spanId: hex(id, 16),
  parentSpanId: parent === undefined ? "" : hex(parent, 16),
  service: "svc",
  name: `span ${id}`,
  kind: "internal",
  startMs: 1_000 + id,
  durationMs: 10,
  status: "unset",
  statusMessage: "",
  attributes: {},
  events: [],
  ...extra,
});

test("SpanRing.push() keeps at most `capacity` spans, and its trace and request indexes shrink with it", () => {
  const ring = new SpanRing(100);
  for (let i = 1; i <= 1_000; i++) {
    ring.push(
      span(Math.ceil(i / 2), i, i % 2 === 0 ? i - 1 : undefined, {
        attributes: { "switchyard.request_id": `req-${Math.ceil(i / 2)}` },
      }),
    );
    assert.ok(ring.size <= 100);
  }
  assert.equal(ring.size, 100);
  assert.equal(ring.evicted, 900);
  assert.equal(ring.traceCount, 50, "two spans per trace: 50 traces fit");
  assert.equal(ring.requestCount, 50);
  assert.equal(ring.resolve("req-1"), undefined, "an evicted trace is no longer found by request id");
  assert.equal(ring.resolve("req-500"), hex(500, 32));
  assert.equal(ring.resolve(hex(500, 32).toUpperCase()), hex(500, 32), "trace ids match in any case");
  assert.equal(ring.trace(hex(500, 32)).length, 2);
  assert.deepEqual(ring.trace(hex(1, 32)), []);
});

test("SpanRing.recent() and slowest() sum traces up from their spans", () => {
  const ring = new SpanRing(10);
  ring.push(
    span(1, 1, undefined, {
      name: "POST /v1/a/b",
      startMs: 100,
      durationMs: 50,
      attributes: { "switchyard.request_id": "r1" },
    }),
  );
  ring.push(span(1, 2, 1, { startMs: 110, durationMs: 80, status: "error", service: "plugin-a" }));
  ring.push(span(2, 3, undefined, { name: "POST /v1/c/d", startMs: 300, durationMs: 5 }));
  const [newest, older] = ring.recent(5);
  assert.equal(newest!.name, "POST /v1/c/d");
  assert.deepEqual(older, {
    traceId: hex(1, 32),
    name: "POST /v1/a/b",
    requestId: "r1",
    startMs: 100,
    durationMs: 90,
    spans: 2,
    error: true,
    services: ["svc", "plugin-a"],
  });
  assert.equal(ring.slowest(1)[0]!.traceId, hex(1, 32));
});

test("traceTree() orders spans depth first by start, marks last children, and survives cycles and orphans", () => {
  const spans = [
    span(1, 4, 2),
    span(1, 1, undefined),
    span(1, 3, 1, { startMs: 1_010 }),
    span(1, 2, 1),
    span(1, 9, 8),
    span(1, 6, 5),
    span(1, 5, 6),
  ];
  const rows = traceTree(spans);
  assert.deepEqual(rows.map((r) => [r.span.spanId.slice(-1), r.depth, r.last]), [
    ["1", 0, false],
    ["2", 1, false],
    ["4", 2, true],
    ["3", 1, true],
    ["9", 0, true],
  ]);
  assert.equal(rows[0]!.offsetMs, 0);
  assert.equal(rows[1]!.offsetMs, 1);
});

test("ringTracer() without an SDK keeps the router's spans with their parents, attributes, events and status", () => {
  const ring = new SpanRing(10);
  const tracer = ringTracer(ring, "switchyard-router");
  const server = tracer.startSpan("POST /v1/:plugin/:method", { kind: ApiSpanKind.SERVER }, ROOT_CONTEXT);
  assert.ok(server.isRecording());
  server.setAttributes({ "switchyard.request_id": "r-7", "http.response.status_code": 503 });
  server.updateName("POST /v1/hello/greet");
  const attempt = tracer.startSpan(
    "send sy.hello",
    { kind: ApiSpanKind.CLIENT },
    trace.setSpan(ROOT_CONTEXT, server),
  );
  attempt.setAttribute("switchyard.attempt", 1);
  attempt.setStatus({ code: SpanStatusCode.ERROR, message: "timeout" });
  attempt.end();
  server.addEvent("retry", { "switchyard.attempt": 2 });
  server.end();
  server.end();
  assert.equal(ring.size, 2, "a span ends once");
  const traceId = ring.resolve("r-7")!;
  assert.equal(traceId, server.spanContext().traceId);
  const [a, s] = ring.trace(traceId);
  assert.equal(s!.name, "POST /v1/hello/greet");
  assert.equal(s!.kind, "server");
  assert.equal(s!.service, "switchyard-router");
  assert.equal(s!.parentSpanId, "");
  assert.deepEqual(s!.events.map((e) => [e.name, e.attributes]), [["retry", { "switchyard.attempt": 2 }]]);
  assert.equal(a!.parentSpanId, s!.spanId);
  assert.equal(a!.traceId, s!.traceId);
  assert.equal(a!.status, "error");
  assert.equal(a!.statusMessage, "timeout");
  assert.ok(a!.startMs >= s!.startMs && a!.durationMs >= 0);
  assert.equal(context.active(), ROOT_CONTEXT);
});

test("ringTracer() over an SDK tracer: the SDK exports the same spans, with the same ids, that the ring keeps", async () => {
  const exporter = new InMemorySpanExporter();
  const provider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] });
  const ring = new SpanRing(10);
  const tracer = ringTracer(ring, "switchyard-router", provider.getTracer("test"));
  const parent = tracer.startSpan("parent", { kind: ApiSpanKind.SERVER });
  tracer.startSpan("child", {}, trace.setSpan(ROOT_CONTEXT, parent)).end();
  parent.end();
  await provider.forceFlush();
  const exported = exporter.getFinishedSpans();
  assert.deepEqual(
    exported.map((s) => s.spanContext().spanId).sort(),
    ring.trace(parent.spanContext().traceId).map((s) => s.spanId).sort(),
  );
  assert.equal(
    exported.find((s) => s.name === "child")!.parentSpanContext?.spanId,
    parent.spanContext().spanId,
  );
});

async function sdkSpans() {
  const exporter = new InMemorySpanExporter();
  const provider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] });
  const tracer = provider.getTracer("test");
  const server = tracer.startSpan("process hello.greet", {
    kind: ApiSpanKind.SERVER,
    attributes: { "switchyard.request_id": "r-1", n: 503, ok: true, ratio: 0.5, list: ["a", "b"] },
  });
  const client = tracer.startSpan("send sy.text.up", {
    kind: ApiSpanKind.CLIENT,
    attributes: { "switchyard.attempt": 2, big: -5 },
  }, trace.setSpan(ROOT_CONTEXT, server));
  client.addEvent("instance ejected", { "switchyard.instance.id": "i-1" });
  client.setStatus({ code: SpanStatusCode.ERROR, message: "timeout" });
  client.end();
  server.end();
  await provider.forceFlush();
  return exporter.getFinishedSpans();
}

test("decodeOtlpProtobuf() and decodeOtlpJson() read what the SDK's serializers write, to the same spans", async () => {
  const spans = await sdkSpans();
  const fromProtobuf = decodeOtlpProtobuf(ProtobufTraceSerializer.serializeRequest(spans)!);
  const fromJson = decodeOtlpJson(
    JSON.parse(new TextDecoder().decode(JsonTraceSerializer.serializeRequest(spans)!)),
  );
  assert.equal(fromProtobuf.length, 2);
  const round = (s: SpanRecord) => ({
    ...s,
    startMs: Math.round(s.startMs),
    durationMs: Math.round(s.durationMs * 10),
    events: s.events.map((e) => ({ ...e, atMs: Math.round(e.atMs) })),
  });
  assert.deepEqual(fromProtobuf.map(round), fromJson.map(round));
  const [client, server] = fromProtobuf;
  assert.equal(server!.kind, "server");
  assert.equal(client!.kind, "client");
  assert.equal(client!.traceId, spans[0]!.spanContext().traceId);
  assert.equal(client!.parentSpanId, server!.spanId);
  assert.equal(client!.status, "error");
  assert.equal(client!.statusMessage, "timeout");
  assert.equal(client!.attributes.big, -5);
  assert.deepEqual(client!.events.map((e) => [e.name, e.attributes]), [["instance ejected", {
    "switchyard.instance.id": "i-1",
  }]]);
  assert.deepEqual(server!.attributes, {
    "switchyard.request_id": "r-1",
    n: 503,
    ok: true,
    ratio: 0.5,
    list: '["a","b"]',
  });
  assert.ok(Math.abs(server!.startMs - Date.now()) < 60_000);
});

test("decodeOtlpJson() and decodeOtlpProtobuf() treat the body as untrusted: bad spans skipped, sizes capped, garbage refused", () => {
  const attributes = Array.from(
    { length: 100 },
    (_, i) => ({ key: `k${i}`, value: { stringValue: "x".repeat(10_000) } }),
  );
  const good = {
    traceId: "a".repeat(32),
    spanId: "b".repeat(16),
    name: "n".repeat(10_000),
    startTimeUnixNano: "1",
    endTimeUnixNano: "2",
    attributes,
  };
  const spans = decodeOtlpJson({
    resourceSpans: [{
      scopeSpans: [{ spans: [good, { ...good, traceId: "zz" }, { ...good, spanId: 5 }, null, "x"] }],
    }],
  });
  assert.equal(spans.length, 1);
  assert.equal(Object.keys(spans[0]!.attributes).length, MAX_SPAN_ATTRIBUTES);
  assert.ok(spans[0]!.name.length <= MAX_SPAN_TEXT + 1);
  assert.throws(() => decodeOtlpJson("nope"), TypeError);
  assert.throws(() => decodeOtlpProtobuf(new Uint8Array([0x0a, 0xff, 0xff, 0xff])), TypeError);
  assert.throws(() => decodeOtlpProtobuf(new Uint8Array([0x0b])), TypeError);
  assert.deepEqual(decodeOtlpProtobuf(new Uint8Array()), []);
});
