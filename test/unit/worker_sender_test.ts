import { test } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:net";
import { DiagLogLevel, SpanKind } from "@opentelemetry/api";
import { TracerProvider } from "@opentelemetry/sdk-trace";
import { SpanExportProcessor } from "../../src/telemetry/span_export_processor.ts";
import { WorkerSender } from "../../src/telemetry/worker_sender.ts";
import type { BatchOutcome } from "../../src/telemetry/otlp_http_sender.ts";
import { startOtlpReceiver } from "../../src/testing/otlp_receiver.ts";
import { waitFor } from "../../src/testing/mod.ts";

/** Runs `fn` with OTLP variables set (the sender reads process.env, as the SDK's exporter does). */
async function withEnv(vars: Record<string, string>, fn: () => Promise<void>): Promise<void> {
  const saved = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]));
  Object.assign(process.env, vars);
  try {
    await fn();
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

test("WorkerSender: spans ended on this thread reach an OTLP/HTTP receiver through the worker", async () => {
  await using receiver = await startOtlpReceiver();
  await withEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url }, async () => {
    const sender = new WorkerSender({ logLevel: DiagLogLevel.NONE });
    const provider = new TracerProvider({ spanProcessors: [new SpanExportProcessor(sender, { maxExportBatchSize: 2 })] });
    const tracer = provider.getTracer("switchyard");
    const span = tracer.startSpan("POST /v1/hello/greet", { kind: SpanKind.SERVER });
    span.setAttributes({ "http.response.status_code": 200, "switchyard.request_id": "r-1" });
    span.end();
    for (let i = 0; i < 4; i++) tracer.startSpan(`extra ${i}`).end();
    await provider.forceFlush();
    assert.ok(sender.usingWorker, "the worker exported, not the fallback");
    const traceId = span.spanContext().traceId;
    const [got] = receiver.trace(traceId);
    assert.ok(got !== undefined, `the span arrived (received: ${receiver.spans.map((s) => s.name).join(", ")})`);
    assert.equal(got.name, "POST /v1/hello/greet");
    assert.equal(got.kind, 2);
    assert.deepEqual(got.attributes, { "http.response.status_code": 200, "switchyard.request_id": "r-1" });
    assert.equal(receiver.spans.length, 5);
    assert.equal(receiver.exports, 3, "batches of two, and the last one on flush");
    await provider.shutdown();
  });
});

test("WorkerSender: with protocol http/json the worker sends the OTLP/JSON encoding", async () => {
  await using receiver = await startOtlpReceiver();
  await withEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url }, async () => {
    const sender = new WorkerSender({ logLevel: DiagLogLevel.NONE, protocol: "http/json" });
    const provider = new TracerProvider({ spanProcessors: [new SpanExportProcessor(sender)] });
    const span = provider.getTracer("switchyard").startSpan("send sy.hello.1_2_0.greet", { kind: SpanKind.CLIENT });
    span.setAttributes({ "switchyard.attempt": 2, "messaging.system": "nats" });
    span.end();
    await provider.forceFlush();
    assert.ok(sender.usingWorker);
    const [got] = receiver.trace(span.spanContext().traceId);
    assert.equal(got?.name, "send sy.hello.1_2_0.greet");
    assert.equal(got?.kind, 3);
    assert.deepEqual(got?.attributes, { "switchyard.attempt": 2, "messaging.system": "nats" });
    assert.equal(receiver.jsonExports, 1, "the receiver got JSON, not protobuf");
    await provider.shutdown();
  });
});

test("WorkerSender: with the collector's port closed, send() returns at once and the batch is reported failed", async () => {
  const port = await closedPort();
  // A short export timeout bounds the SDK transport's retries with backoff.
  await withEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}`, OTEL_EXPORTER_OTLP_TIMEOUT: "1500" }, async () => {
    const sender = new WorkerSender({ logLevel: DiagLogLevel.NONE });
    const outcomes: BatchOutcome[] = [];
    sender.send({ body: new Uint8Array([10, 0]), count: 1 }, (outcome) => outcomes.push(outcome));
    assert.equal(outcomes.length, 0, "the export runs on the worker, not inside send()");
    await waitFor(() => outcomes.length === 1, { timeoutMs: 30_000, message: "the failed batch to be reported" });
    assert.equal(typeof outcomes[0], "string", `a failure, with its reason (got ${String(outcomes[0])})`);
    await sender.shutdown();
  });
});

test("WorkerSender: when the worker cannot start, batches are sent from this thread", async () => {
  await using receiver = await startOtlpReceiver();
  await withEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url }, async () => {
    const sender = new WorkerSender({ logLevel: DiagLogLevel.NONE, workerUrl: new URL("./no_such_worker_module.ts", import.meta.url) });
    await waitFor(() => !sender.usingWorker, { timeoutMs: 10_000, message: "the worker's failure to be noticed" });
    const provider = new TracerProvider({ spanProcessors: [new SpanExportProcessor(sender)] });
    const span = provider.getTracer("switchyard").startSpan("still exported");
    span.end();
    await provider.forceFlush();
    assert.equal(receiver.trace(span.spanContext().traceId)[0]?.name, "still exported");
    await provider.shutdown();
  });
});
