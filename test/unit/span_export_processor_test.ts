import { test } from "node:test";
import assert from "node:assert/strict";
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, TraceFlags } from "@opentelemetry/api";
import type { Span, Tracer } from "@opentelemetry/api";
import { AlwaysOffSampler, InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from "@opentelemetry/sdk-trace";
import { TraceState } from "@opentelemetry/core";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { JsonTraceSerializer, ProtobufTraceSerializer } from "@opentelemetry/otlp-transformer";
import { otlpProtobufToJson } from "../../src/telemetry/otlp_proto_to_json.ts";
import { SpanExportProcessor } from "../../src/telemetry/span_export_processor.ts";
import type { BatchOutcome, BatchSender, EncodedBatch } from "../../src/telemetry/otlp_http_sender.ts";
import { decodeTraces } from "../../src/testing/otlp_receiver.ts";

/** Keeps what it is sent; settles each batch when told to. */
class CapturingSender implements BatchSender {
  readonly batches: EncodedBatch[] = [];
  readonly #open: ((outcome: BatchOutcome) => void)[] = [];
  settleAtOnce = true;
  shutDown = false;

  send(batch: EncodedBatch, done: (outcome: BatchOutcome) => void): void {
    this.batches.push(batch);
    if (this.settleAtOnce) done(undefined);
    else this.#open.push(done);
  }
  settleAll(outcome: BatchOutcome = undefined): void {
    for (const done of this.#open.splice(0)) done(outcome);
  }
  forceFlush(): Promise<void> {
    return Promise.resolve();
  }
  shutdown(): Promise<void> {
    this.shutDown = true;
    return Promise.resolve();
  }
}

function setup(options: ConstructorParameters<typeof SpanExportProcessor>[1] = {}, sampler?: AlwaysOffSampler) {
  const sender = new CapturingSender();
  const processor = new SpanExportProcessor(sender, { scheduledDelayMillis: 60_000, ...options });
  const memory = new InMemorySpanExporter();
  const provider = new TracerProvider({
    spanProcessors: [processor, new SimpleSpanProcessor({ exporter: memory })],
    ...(sampler === undefined ? {} : { sampler }),
  });
  return { sender, processor, memory, provider, tracer: provider.getTracer("switchyard") };
}

/** Spans with everything OTLP carries: kinds, a remote parent with trace state, events, links, status, every value type. */
function makeSpans(tracer: Tracer, other: Tracer): void {
  const remote = trace.setSpanContext(ROOT_CONTEXT, {
    traceId: "0af7651916cd43dd8448eb211c80319c",
    spanId: "b7ad6b7169203331",
    traceFlags: TraceFlags.SAMPLED,
    isRemote: true,
    traceState: new TraceState("vendor=x,other=y"),
  });
  const server = tracer.startSpan("POST /v1/hello/greet", { kind: SpanKind.SERVER }, remote);
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
    "very negative": -(2 ** 40),
    "bytes": new Uint8Array([1, 2, 250]),
    "nested": { a: 1, b: ["x", true] } as never,
  });
  server.addEvent("retry", { "switchyard.attempt": 2, "switchyard.retry.reason": "busy" });
  server.setStatus({ code: SpanStatusCode.ERROR, message: "upstream_timeout" });
  const client = tracer.startSpan("send sy.hello.1_2_0.greet", { kind: SpanKind.CLIENT }, trace.setSpan(remote, server));
  client.addLink({ context: server.spanContext(), attributes: { why: "test" } });
  client.end();
  server.end();
  const own = other.startSpan("load forecast"); // another scope, a root span, INTERNAL
  own.setAttribute("weather.city", "Zürich");
  own.end();
}

test("SpanExportProcessor encodes spans to the same bytes as the SDK's protobuf serializer", async () => {
  const { sender, processor, memory, provider, tracer } = setup();
  makeSpans(tracer, provider.getTracer("weather", "1.2.3", { schemaUrl: "https://opentelemetry.io/schemas/1.30.0" }));
  await processor.forceFlush();
  assert.equal(sender.batches.length, 1);
  const spans = memory.getFinishedSpans();
  assert.equal(spans.length, 3);
  const expected = ProtobufTraceSerializer.serializeRequest(spans)!;
  assert.equal(sender.batches[0]!.count, 3);
  assert.deepEqual(Buffer.from(sender.batches[0]!.body).toString("hex"), Buffer.from(expected).toString("hex"));
  // And a receiver reads it back.
  const decoded = decodeTraces(sender.batches[0]!.body);
  assert.deepEqual(decoded.map((s) => s.name).sort(), ["POST /v1/hello/greet", "load forecast", "send sy.hello.1_2_0.greet"]);
  await provider.shutdown();
  assert.ok(sender.shutDown, "shutdown reaches the sender");
});

test("otlpProtobufToJson() turns an encoded batch into the OTLP/JSON the SDK's JSON serializer writes", async () => {
  const { sender, processor, memory, provider, tracer } = setup();
  makeSpans(tracer, provider.getTracer("weather", "1.2.3", { schemaUrl: "https://opentelemetry.io/schemas/1.30.0" }));
  await processor.forceFlush();
  const expected = JSON.parse(new TextDecoder().decode(JsonTraceSerializer.serializeRequest(memory.getFinishedSpans())!));
  const actual = JSON.parse(new TextDecoder().decode(otlpProtobufToJson(sender.batches[0]!.body)));
  assert.deepEqual(actual, expected);
});

test("SpanExportProcessor encodes batch after batch of spans as the SDK would", async () => {
  const { sender, processor, memory, tracer } = setup({ maxExportBatchSize: 150 });
  for (let i = 0; i < 300; i++) {
    const span = tracer.startSpan(i % 2 === 0 ? "POST /v1/hello/greet" : `send sy.hello.${i % 3}`, { kind: SpanKind.CLIENT });
    span.setAttributes({
      "messaging.system": "nats",
      "switchyard.attempt": 1 + (i % 2),
      "switchyard.request_id": `r-${i}`,
      "ok": i % 5 === 0,
      "ratio": 0.5,
    });
    span.end();
  }
  await processor.forceFlush();
  assert.deepEqual(sender.batches.map((b) => b.count), [150, 150]);
  const spans = memory.getFinishedSpans();
  for (const [i, batch] of sender.batches.entries()) {
    const expected = ProtobufTraceSerializer.serializeRequest(spans.slice(i * 150, (i + 1) * 150))!;
    assert.equal(Buffer.from(batch.body).toString("hex"), Buffer.from(expected).toString("hex"), `batch ${i}`);
  }
});

test("SpanExportProcessor sends a batch when it is full, and the rest on forceFlush()", async () => {
  const { sender, processor, tracer } = setup({ maxExportBatchSize: 4 });
  for (let i = 0; i < 10; i++) tracer.startSpan(`s${i}`).end();
  assert.deepEqual(sender.batches.map((b) => b.count), [4, 4], "two full batches left at once");
  await processor.forceFlush();
  assert.deepEqual(sender.batches.map((b) => b.count), [4, 4, 2]);
  const names = sender.batches.flatMap((b) => decodeTraces(b.body).map((s) => s.name));
  assert.deepEqual(names, Array.from({ length: 10 }, (_, i) => `s${i}`));
});

test("SpanExportProcessor sends a partial batch after scheduledDelayMillis", async () => {
  const { sender, tracer } = setup({ scheduledDelayMillis: 20 });
  tracer.startSpan("lonely").end();
  assert.equal(sender.batches.length, 0);
  const deadline = Date.now() + 10_000;
  while (sender.batches.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  assert.equal(sender.batches.length, 1);
  assert.equal(decodeTraces(sender.batches[0]!.body)[0]!.name, "lonely");
});

test("SpanExportProcessor drops spans without encoding them while maxQueueSize spans are unsettled", () => {
  const { sender, processor, tracer } = setup({ maxQueueSize: 8, maxExportBatchSize: 4 });
  sender.settleAtOnce = false; // a collector that does not answer
  for (let i = 0; i < 20; i++) tracer.startSpan(`s${i}`).end();
  assert.deepEqual(sender.batches.map((b) => b.count), [4, 4]);
  assert.equal(processor.dropped, 12);
  sender.settleAll("connect ECONNREFUSED");
  for (let i = 0; i < 4; i++) tracer.startSpan(`after${i}`).end();
  assert.equal(processor.dropped, 0, "the drop count is reported once spans flow again");
  assert.deepEqual(sender.batches.map((b) => b.count), [4, 4, 4]);
});

test("SpanExportProcessor waits for the resource's asynchronous attributes, keeping each batch's spans", async () => {
  let settle!: (id: string) => void;
  const hostId = new Promise<string>((resolve) => settle = resolve);
  const sender = new CapturingSender();
  const processor = new SpanExportProcessor(sender, { maxExportBatchSize: 2, scheduledDelayMillis: 60_000 });
  const provider = new TracerProvider({ spanProcessors: [processor], resource: resourceFromAttributes({ "service.name": "t", "host.id": hostId }) });
  const tracer = provider.getTracer("switchyard");
  for (const name of ["a1", "a2", "b1", "b2"]) tracer.startSpan(name).end();
  assert.equal(sender.batches.length, 0, "nothing leaves before the resource is complete");
  settle("host-42");
  await processor.forceFlush();
  assert.deepEqual(sender.batches.map((b) => decodeTraces(b.body).map((x) => x.name)), [["a1", "a2"], ["b1", "b2"]]);
  const body = Buffer.from(sender.batches[0]!.body).toString("latin1");
  assert.ok(body.includes("host-42"), "the resource carries the attribute that settled");
  await provider.shutdown();
});

test("SpanExportProcessor skips spans that are not sampled", async () => {
  const { sender, processor, tracer } = setup({}, new AlwaysOffSampler());
  const span: Span = tracer.startSpan("not sampled");
  span.end();
  await processor.forceFlush();
  assert.equal(sender.batches.length, 0);
});
