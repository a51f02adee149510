import { test } from "node:test";
import assert from "node:assert/strict";
import { context, propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, TraceFlags } from "@opentelemetry/api";
import type { Span, TextMapSetter, Tracer } from "@opentelemetry/api";
import { TracerProvider } from "@opentelemetry/sdk-trace";
import type { SpanLimits as SdkSpanLimits } from "@opentelemetry/sdk-trace";
import { TraceState, W3CTraceContextPropagator } from "@opentelemetry/core";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { otlpProtobufToJson } from "../../src/telemetry/otlp_proto_to_json.ts";
import { SpanExportProcessor } from "../../src/telemetry/span_export_processor.ts";
import { LeanTracerProvider } from "../../src/telemetry/lean_tracer.ts";
import { SpanSampler } from "../../src/telemetry/span_sampler.ts";
import { spanLimitsFromEnv } from "../../src/telemetry/span_attributes.ts";
import type { SpanLimits } from "../../src/telemetry/span_attributes.ts";
import type { BatchOutcome, BatchSender, EncodedBatch } from "../../src/telemetry/otlp_http_sender.ts";
import { decodeTraces } from "../../src/testing/otlp_receiver.ts";

/** Keeps every batch it is sent. */
class CapturingSender implements BatchSender {
  readonly batches: EncodedBatch[] = [];
  send(batch: EncodedBatch, done: (outcome: BatchOutcome) => void): void {
    this.batches.push(batch);
    done(undefined);
  }
  forceFlush(): Promise<void> {
    return Promise.resolve();
  }
  shutdown(): Promise<void> {
    return Promise.resolve();
  }
}

const resource = resourceFromAttributes({ "service.name": "switchyard-router", "process.pid": 42 });

function lean(sampler = new SpanSampler("on", true), limits: SpanLimits = spanLimitsFromEnv({})) {
  const sender = new CapturingSender();
  const processor = new SpanExportProcessor(sender, { scheduledDelayMillis: 60_000 });
  return { sender, provider: new LeanTracerProvider({ processor, resource, sampler, limits }) };
}

function sdk(spanLimits: SdkSpanLimits = {}) {
  const sender = new CapturingSender();
  const processor = new SpanExportProcessor(sender, { scheduledDelayMillis: 60_000 });
  return { sender, provider: new TracerProvider({ spanProcessors: [processor], resource, spanLimits }) };
}

const remote = trace.setSpanContext(ROOT_CONTEXT, {
  traceId: "0af7651916cd43dd8448eb211c80319c",
  spanId: "b7ad6b7169203331",
  traceFlags: TraceFlags.SAMPLED,
  isRemote: true,
  traceState: new TraceState("vendor=x,other=y"),
});

const BOOM = new TypeError("boom");
const CYCLE: Record<string, unknown> = { a: 1 };
CYCLE.self = CYCLE;

/** The same calls a request makes and more: kinds, a remote parent, every value type, events, links, status, bad values. */
function makeSpans(tracer: Tracer, other: Tracer): void {
  const server = tracer.startSpan("POST /v1/:plugin/:method", { kind: SpanKind.SERVER, attributes: { "from.options": "yes", "skip": undefined } }, remote);
  server.updateName("POST /v1/hello/greet");
  server.setAttributes({
    "http.request.method": "POST",
    "http.response.status_code": 503,
    "switchyard.request_id": "r-ünïcødé-✓",
    "big": 2 ** 40,
    "negative": -7,
    "ratio": 0.25,
    "ok": true,
    "list": ["a", "b"],
    "numbers": [1, 2.5],
    "long": "x".repeat(300),
    "huge": 2 ** 60,
    "bytes": new Uint8Array([1, 2, 250]),
    "nested": { a: 1, b: ["x", true], c: null } as never,
    "a function": (() => 1) as never,
    "a date": new Date(0) as never,
    "a cycle": CYCLE as never,
    "schlüssel": "non-ASCII key",
    ["k".repeat(130)]: "a key too long for the one-pass KeyValue",
    "a long value": "v".repeat(200),
    "": "no key",
  });
  server.setAttribute("ok", false); // replaced in place
  server.addEvent("retry", { "switchyard.attempt": 2, "switchyard.retry.reason": "busy", "not simple": { a: 1 } as never });
  server.addEvent("plain");
  server.addEvent("at a time", [1_700_000_000, 5]);
  server.recordException(BOOM);
  server.setStatus({ code: SpanStatusCode.ERROR, message: "upstream_timeout" });
  const client = tracer.startSpan("send sy.hello.1_2_0.greet", { kind: SpanKind.CLIENT, links: [{ context: trace.getSpanContext(remote)! }] }, trace.setSpan(remote, server));
  client.addLink({ context: server.spanContext(), attributes: { why: "test", n: [1, 2] } });
  client.setStatus({ code: SpanStatusCode.OK });
  client.setStatus({ code: SpanStatusCode.ERROR, message: "ignored after ok" });
  client.end();
  server.end();
  server.setAttribute("after end", 1);
  const own = other.startSpan("load forecast");
  own.setAttribute("weather.city", "Zürich");
  own.end([1_700_000_000, 0]); // before its start: the duration becomes 0
}

/** The decoded export with ids named by first appearance and times taken out (checked separately). */
function normalized(body: Uint8Array) {
  const json = JSON.parse(new TextDecoder().decode(otlpProtobufToJson(body)));
  const names = new Map<string, string>();
  const id = (hex: string) => {
    if (hex === "" || hex === undefined) return hex;
    if (!names.has(hex)) names.set(hex, `id${names.size}`);
    return names.get(hex);
  };
  const times: { start: bigint; end: bigint }[] = [];
  const walk = (value: unknown, key = ""): unknown => {
    if (Array.isArray(value)) return value.map((v) => walk(v));
    if (typeof value !== "object" || value === null) {
      if (typeof value === "string" && (key === "traceId" || key === "spanId" || key === "parentSpanId")) return id(value);
      return value;
    }
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      if (k === "startTimeUnixNano" || k === "endTimeUnixNano" || k === "timeUnixNano") continue;
      out[k] = walk(v, k);
    }
    return out;
  };
  for (const rs of json.resourceSpans) {
    for (const ss of rs.scopeSpans) {
      for (const s of ss.spans) times.push({ start: BigInt(s.startTimeUnixNano), end: BigInt(s.endTimeUnixNano) });
    }
  }
  return { json: walk(json), times };
}

test("the lean tracer's export decodes to the same spans, attributes, events, links, status, parents and resource as the SDK's", async () => {
  const a = lean();
  const b = sdk();
  const before = BigInt(Date.now() - 1) * 1_000_000n;
  makeSpans(a.provider.getTracer("switchyard"), a.provider.getTracer("weather", "1.2.3", { schemaUrl: "https://opentelemetry.io/schemas/1.30.0" }));
  makeSpans(b.provider.getTracer("switchyard"), b.provider.getTracer("weather", "1.2.3", { schemaUrl: "https://opentelemetry.io/schemas/1.30.0" }));
  const after = BigInt(Date.now() + 1) * 1_000_000n;
  await a.provider.forceFlush();
  await b.provider.forceFlush();
  assert.equal(a.sender.batches.length, 1);
  const mine = normalized(a.sender.batches[0]!.body);
  const theirs = normalized(b.sender.batches[0]!.body);
  assert.deepEqual(mine.json, theirs.json);
  // Times: the wall clock, start before end; the span ended "before" it started lasts 0.
  const [client, server, own] = mine.times;
  for (const t of [client!, server!]) {
    assert.ok(t.start >= before && t.end <= after && t.start <= t.end, `${t.start}..${t.end} within ${before}..${after}`);
  }
  assert.ok(server!.start <= client!.start && client!.end <= server!.end, "the client span lies within the server span");
  assert.equal(own!.start, own!.end);
  assert.equal(decodeTraces(a.sender.batches[0]!.body).find((s) => s.name === "POST /v1/hello/greet")?.parentSpanId, "b7ad6b7169203331");
});

test("attribute, event and link limits are the SDK's: the same kept, the same counted as dropped, values cut", async () => {
  const env = {
    OTEL_ATTRIBUTE_COUNT_LIMIT: "3",
    OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT: "4",
    OTEL_SPAN_EVENT_COUNT_LIMIT: "2",
    OTEL_SPAN_LINK_COUNT_LIMIT: "1",
    OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT: "1",
    OTEL_LINK_ATTRIBUTE_COUNT_LIMIT: "1",
  };
  const limits = spanLimitsFromEnv(env);
  assert.deepEqual(limits, {
    attributeCountLimit: 3,
    attributeValueLengthLimit: 4,
    eventCountLimit: 2,
    linkCountLimit: 1,
    attributePerEventCountLimit: 1,
    attributePerLinkCountLimit: 1,
  });
  assert.deepEqual(spanLimitsFromEnv({}), {
    attributeCountLimit: 128,
    attributeValueLengthLimit: Infinity,
    eventCountLimit: 128,
    linkCountLimit: 128,
    attributePerEventCountLimit: 128,
    attributePerLinkCountLimit: 128,
  });
  const a = lean(undefined, limits);
  const b = sdk(limits);
  for (const provider of [a.provider, b.provider]) {
    const span = provider.getTracer("t").startSpan("limited", { attributes: { first: "abcdefgh" } });
    span.setAttributes({ second: ["abcdef", "xy"], third: new Uint8Array([1, 2, 3, 4, 5, 6]), fourth: 4, fifth: 5 });
    span.setAttribute("first", "replaced, not dropped");
    for (let i = 0; i < 4; i++) span.addEvent(`event ${i}`, { a: i, b: i });
    span.addLink({ context: trace.getSpanContext(remote)!, attributes: { x: 1, y: 2 } });
    span.addLink({ context: span.spanContext(), attributes: { x: 1, y: 2 } });
    span.end();
    await provider.forceFlush();
  }
  const mine = normalized(a.sender.batches[0]!.body).json;
  assert.deepEqual(mine, normalized(b.sender.batches[0]!.body).json);
  const span = (mine as { resourceSpans: { scopeSpans: { spans: Record<string, never>[] }[] }[] }).resourceSpans[0]!.scopeSpans[0]!.spans[0]!;
  assert.deepEqual(span.attributes, [
    { key: "first", value: { stringValue: "repl" } },
    { key: "second", value: { arrayValue: { values: [{ stringValue: "abcd" }, { stringValue: "xy" }] } } },
    { key: "third", value: { bytesValue: Buffer.from([1, 2, 3, 4]).toString("base64") } },
  ]);
  assert.equal(span.droppedAttributesCount, 2);
  assert.deepEqual((span.events as unknown as { name: string }[]).map((e) => e.name), ["event 2", "event 3"]);
  assert.equal(span.droppedEventsCount, 2);
  assert.equal(span.droppedLinksCount, 1);
});

test("traceidratio samples about its share of trace ids, the same ids as the SDK's sampler", async () => {
  const { TraceIdRatioBasedSampler } = await import("@opentelemetry/sdk-trace");
  const ratio = new SpanSampler("ratio", false, 0.25);
  const theirs = new TraceIdRatioBasedSampler(0.25);
  const { provider, sender } = lean(ratio);
  const tracer = provider.getTracer("t");
  let sampled = 0;
  const n = 4000;
  for (let i = 0; i < n; i++) {
    const span = tracer.startSpan("root");
    const ctx = span.spanContext();
    const yes = (ctx.traceFlags & TraceFlags.SAMPLED) !== 0;
    assert.equal(span.isRecording(), yes);
    assert.equal(yes, theirs.shouldSample(ROOT_CONTEXT, ctx.traceId).decision === 2, `trace ${ctx.traceId}`);
    if (yes) sampled++;
    span.end();
  }
  assert.ok(sampled > n * 0.2 && sampled < n * 0.3, `${sampled} of ${n} sampled at 0.25`);
  await provider.forceFlush();
  assert.equal(sender.batches.reduce((sum, b) => sum + b.count, 0), sampled, "only sampled spans are exported");
  assert.equal(new SpanSampler("ratio", false, 0).sample(undefined, "ffffffffffffffffffffffffffffffff"), false);
  assert.equal(new SpanSampler("ratio", false, 1).sample(undefined, "ffffffffffffffffffffffffffffffff"), true);
});

test("parent-based samplers follow the parent's flag; the others ignore it", () => {
  const parent = (flags: number, isRemote: boolean) =>
    trace.setSpanContext(ROOT_CONTEXT, { traceId: "0af7651916cd43dd8448eb211c80319c", spanId: "b7ad6b7169203331", traceFlags: flags, isRemote });
  const cases: [SpanSampler, boolean, boolean, boolean][] = [
    // sampler, root sampled?, under a sampled parent?, under a non-sampled parent?
    [new SpanSampler("on", true), true, true, false],
    [new SpanSampler("off", true), false, true, false],
    [new SpanSampler("ratio", true, 0), false, true, false],
    [new SpanSampler("ratio", true, 1), true, true, false],
    [new SpanSampler("on", false), true, true, true],
    [new SpanSampler("off", false), false, false, false],
  ];
  for (const [sampler, root, underSampled, underNot] of cases) {
    const tracer = lean(sampler).provider.getTracer("t");
    const sampledOf = (span: Span) => (span.spanContext().traceFlags & TraceFlags.SAMPLED) !== 0;
    assert.equal(sampledOf(tracer.startSpan("root", {}, ROOT_CONTEXT)), root, `${sampler.description} root`);
    for (const isRemote of [true, false]) {
      assert.equal(sampledOf(tracer.startSpan("child", {}, parent(TraceFlags.SAMPLED, isRemote))), underSampled, `${sampler.description} sampled parent`);
      assert.equal(sampledOf(tracer.startSpan("child", {}, parent(TraceFlags.NONE, isRemote))), underNot, `${sampler.description} unsampled parent`);
    }
  }
});

test("a span that is not sampled records nothing and still carries the trace context to its children and headers", () => {
  const { provider } = lean(new SpanSampler("off", true));
  const tracer = provider.getTracer("t");
  const notSampled = trace.setSpanContext(ROOT_CONTEXT, {
    traceId: "0af7651916cd43dd8448eb211c80319c",
    spanId: "b7ad6b7169203331",
    traceFlags: TraceFlags.NONE,
    isRemote: true,
    traceState: new TraceState("vendor=x"),
  });
  const span = tracer.startSpan("dropped", { attributes: { a: 1 } }, notSampled);
  assert.equal(span.isRecording(), false);
  const ctx = span.spanContext();
  assert.equal(ctx.traceId, "0af7651916cd43dd8448eb211c80319c");
  assert.match(ctx.spanId, /^[0-9a-f]{16}$/);
  assert.notEqual(ctx.spanId, "b7ad6b7169203331");
  assert.equal(ctx.traceFlags, TraceFlags.NONE);
  assert.equal(ctx.traceState?.serialize(), "vendor=x");
  const child = tracer.startSpan("grandchild", {}, trace.setSpan(ROOT_CONTEXT, span));
  assert.equal(child.spanContext().traceId, ctx.traceId);
  const headers: Record<string, string> = {};
  const setter: TextMapSetter<Record<string, string>> = { set: (c, k, v) => c[k] = v };
  new W3CTraceContextPropagator().inject(trace.setSpan(ROOT_CONTEXT, span), headers, setter);
  assert.equal(headers.traceparent, `00-${ctx.traceId}-${ctx.spanId}-00`);
  assert.equal(headers.tracestate, "vendor=x");
});

test("a plugin's own spans nest under the active span through the global provider", async () => {
  const { AsyncLocalStorageContextManager } = await import("@opentelemetry/context-async-hooks");
  const { provider, sender } = lean();
  const manager = new AsyncLocalStorageContextManager().enable();
  context.setGlobalContextManager(manager);
  trace.setGlobalTracerProvider(provider);
  propagation.disable();
  try {
    const request = provider.getTracer("switchyard").startSpan("process hello.greet", { kind: SpanKind.SERVER });
    await context.with(trace.setSpan(context.active(), request), async () => {
      await Promise.resolve();
      trace.getTracer("weather").startActiveSpan("load forecast", (own) => {
        own.end();
      });
    });
    request.end();
    await provider.forceFlush();
    const spans = decodeTraces(sender.batches[0]!.body);
    const own = spans.find((s) => s.name === "load forecast")!;
    assert.equal(own.parentSpanId, request.spanContext().spanId);
    assert.equal(own.traceId, request.spanContext().traceId);
  } finally {
    trace.disable();
    context.disable();
  }
});

test("samplerFromEnv() reads OTEL_TRACES_SAMPLER and its argument as the SDK does", async () => {
  const { samplerFromEnv } = await import("../../src/telemetry/span_sampler.ts");
  const cases: [Record<string, string>, string][] = [
    [{}, "parentbased_always_on"],
    [{ OTEL_TRACES_SAMPLER: "always_on" }, "always_on"],
    [{ OTEL_TRACES_SAMPLER: "always_off" }, "always_off"],
    [{ OTEL_TRACES_SAMPLER: "parentbased_always_off" }, "parentbased_always_off"],
    [{ OTEL_TRACES_SAMPLER: "traceidratio", OTEL_TRACES_SAMPLER_ARG: "0.1" }, "traceidratio (0.1)"],
    [{ OTEL_TRACES_SAMPLER: "parentbased_traceidratio", OTEL_TRACES_SAMPLER_ARG: "0.25" }, "parentbased_traceidratio (0.25)"],
    [{ OTEL_TRACES_SAMPLER: "traceidratio" }, "traceidratio (1)"], // blank argument: 1
    [{ OTEL_TRACES_SAMPLER: "traceidratio", OTEL_TRACES_SAMPLER_ARG: "2" }, "traceidratio (1)"], // out of range: 1
    [{ OTEL_TRACES_SAMPLER: "traceidratio", OTEL_TRACES_SAMPLER_ARG: "lots" }, "traceidratio (1)"],
    [{ OTEL_TRACES_SAMPLER: "sometimes" }, "parentbased_always_on"], // unknown: the default
  ];
  for (const [env, description] of cases) assert.equal(samplerFromEnv(env).description, description, JSON.stringify(env));
});
