import { test } from "node:test";
import assert from "node:assert/strict";
import { ROOT_CONTEXT, SpanKind as ApiSpanKind, SpanStatusCode, trace } from "@opentelemetry/api";
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from "@opentelemetry/sdk-trace";
import { JsonTraceSerializer, ProtobufTraceSerializer } from "@opentelemetry/otlp-transformer";
import { decodeJsonTraces, decodeTraces, SpanKind, startOtlpReceiver } from "../../src/testing/otlp_receiver.ts";

async function sdkSpans() {
  const exporter = new InMemorySpanExporter();
  const provider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] });
  const tracer = provider.getTracer("test");
  const server = tracer.startSpan("POST /v1/hello/greet", { kind: ApiSpanKind.SERVER, attributes: { "http.response.status_code": 503, "switchyard.plugin": "hello", ok: true, ratio: 0.5 } });
  const client = tracer.startSpan("send sy.hello.greet", { kind: ApiSpanKind.CLIENT, attributes: { "switchyard.attempt": 2 } }, trace.setSpan(ROOT_CONTEXT, server));
  client.addEvent("instance ejected", { "switchyard.instance.id": "i-1" });
  client.setStatus({ code: SpanStatusCode.ERROR, message: "timeout" });
  client.end();
  server.end();
  await provider.forceFlush();
  return exporter.getFinishedSpans();
}

test("decodeTraces() reads what the OpenTelemetry SDK's protobuf serializer writes, as its JSON serializer says", async () => {
  const spans = await sdkSpans();
  const fromProtobuf = decodeTraces(ProtobufTraceSerializer.serializeRequest(spans)!);
  const fromJson = decodeJsonTraces(JSON.parse(new TextDecoder().decode(JsonTraceSerializer.serializeRequest(spans)!)));
  assert.equal(fromProtobuf.length, 2);
  assert.deepEqual(fromProtobuf, fromJson, "both encodings decode to the same spans");
  const [client, server] = fromProtobuf;
  assert.equal(server!.kind, SpanKind.SERVER);
  assert.equal(client!.kind, SpanKind.CLIENT);
  assert.equal(client!.traceId, spans[0]!.spanContext().traceId);
  assert.equal(client!.parentSpanId, server!.spanId);
  assert.equal(server!.parentSpanId, "");
  assert.equal(client!.statusCode, 2);
  assert.equal(client!.statusMessage, "timeout");
  assert.deepEqual(client!.events, ["instance ejected"]);
  assert.deepEqual(client!.eventAttributes, [{ "switchyard.instance.id": "i-1" }]);
  assert.deepEqual(server!.attributes, { "http.response.status_code": 503, "switchyard.plugin": "hello", ok: true, ratio: 0.5 });
  assert.ok(client!.endNs >= client!.startNs && client!.startNs > 1.6e18);
});

test("startOtlpReceiver() accepts protobuf and JSON exports on /v1/traces and refuses other bodies", async () => {
  await using receiver = await startOtlpReceiver();
  const spans = await sdkSpans();
  const post = (type: string, body: Uint8Array, path = "/v1/traces") =>
    fetch(`${receiver.url}${path}`, { method: "POST", headers: { "content-type": type }, body: body as Uint8Array<ArrayBuffer> });
  assert.equal((await post("application/x-protobuf", ProtobufTraceSerializer.serializeRequest(spans)!)).status, 200);
  assert.equal((await post("application/json", JsonTraceSerializer.serializeRequest(spans)!)).status, 200);
  assert.equal((await post("text/plain", new Uint8Array([1]))).status, 415);
  assert.equal((await post("application/json", new TextEncoder().encode("{bad"))).status, 400);
  assert.equal((await post("application/x-protobuf", new Uint8Array(), "/v1/metrics")).status, 404);
  assert.equal(receiver.exports, 2);
  assert.equal(receiver.trace(spans[0]!.spanContext().traceId).length, 4);
});
