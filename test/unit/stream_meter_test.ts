import { test } from "node:test";
import assert from "node:assert/strict";
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from "@opentelemetry/sdk-trace";
import { createRouterMetrics, RequestTrace, StreamMeter, streamOutcome } from "../../src/telemetry/mod.ts";

const encoder = new TextEncoder();
/** A stream message: items `{"i":from}` … `{"i":to-1}` separated by line feeds, as on the wire. */
const message = (from: number, to: number) =>
  encoder.encode(Array.from({ length: to - from }, (_, k) => JSON.stringify({ i: from + k })).join("\n"));

function tracing() {
  const exporter = new InMemorySpanExporter();
  const provider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] });
  const request = new Request("http://router.test/v1/ticker/ticks", { method: "POST" });
  return { exporter, trace: new RequestTrace(provider.getTracer("test"), request, "req-1", []) };
}

test("StreamMeter.sent() counts a message's items by its line feeds and their bytes without them", async () => {
  const metrics = createRouterMetrics({ processMetrics: false });
  const series = metrics.series("ticker", "ticks");
  const meter = new StreamMeter(series, undefined, performance.now());
  assert.equal(series.plugin.openStreams, 1);
  meter.sent(message(0, 3));
  meter.sent(new Uint8Array(0)); // the end: no items
  meter.sent(message(3, 4));
  assert.equal(meter.items, 4);
  assert.deepEqual([series.stream!.items, series.stream!.bytes], [4, '{"i":0}{"i":1}{"i":2}{"i":3}'.length]);
  meter.end("", false);
  meter.end("timeout", false); // only the first end counts
  assert.equal(series.plugin.openStreams, 0);
  const text = await metrics.render();
  for (
    const line of [
      'switchyard_open_streams{plugin="ticker"} 0',
      'switchyard_stream_items_total{plugin="ticker",method="ticks"} 4',
      'switchyard_stream_bytes_total{plugin="ticker",method="ticks"} 28',
      'switchyard_stream_duration_seconds_count{plugin="ticker",method="ticks",code="ok"} 1',
      'switchyard_stream_duration_seconds_bucket{plugin="ticker",method="ticks",code="ok",le="+Inf"} 1',
    ]
  ) assert.ok(text.includes(`${line}\n`), `missing: ${line}`);
  assert.ok(!text.includes('code="timeout"'));
});

test("streamOutcome() keeps ok, cancelled and the router's codes, and folds a plugin's own code", () => {
  assert.equal(streamOutcome("", false), "ok");
  assert.equal(streamOutcome("", true), "cancelled");
  assert.equal(streamOutcome("timeout", true), "timeout", "an error that came first wins over the client leaving");
  assert.equal(streamOutcome("draining", false), "draining");
  assert.equal(streamOutcome("boom", false), "plugin_error");
  assert.equal(streamOutcome("toString", false), "plugin_error");
});

test("StreamMeter: the span gets an items event at most every 100 items, and ends with the stream, not the response", () => {
  const { exporter, trace } = tracing();
  const series = createRouterMetrics({ processMetrics: false }).series("ticker", "ticks");
  const meter = new StreamMeter(series, trace, performance.now());
  // Messages of 37 items: the count passes 100 at 111, 200 at 222, 300 at 333; 370 passes no more.
  for (let m = 0; m < 10; m++) meter.sent(message(m * 37, (m + 1) * 37));
  trace.end(new Response(null, { status: 200 }), "");
  assert.equal(exporter.getFinishedSpans().length, 0, "the response's head went out: the span stays open");
  // One message of 250 items passes 400 and 500 (and 600) at once: one event.
  meter.sent(message(370, 620));
  meter.end("", false);
  const [span] = exporter.getFinishedSpans();
  assert.ok(span !== undefined, "the stream's end ends the span");
  assert.deepEqual(span.events.map((e) => [e.name, e.attributes?.["switchyard.stream.items"]]), [
    ["items", 111],
    ["items", 222],
    ["items", 333],
    ["items", 620],
  ]);
  assert.equal(span.attributes["switchyard.stream.items"], 620);
  assert.equal(span.attributes["switchyard.stream.outcome"], "ok");
  assert.equal(span.attributes["http.response.status_code"], 200);
  assert.equal(span.status.code, 0);
});

test("StreamMeter: an error ends the span with error status and the code; an end before the response's is held", () => {
  const { exporter, trace } = tracing();
  const meter = new StreamMeter(createRouterMetrics({ processMetrics: false }).series("ticker", "ticks"), trace, performance.now());
  meter.sent(message(0, 5));
  meter.end("boom", false);
  assert.equal(exporter.getFinishedSpans().length, 0, "the response's status is not recorded yet");
  trace.end(new Response(null, { status: 200 }), "");
  const [span] = exporter.getFinishedSpans();
  assert.equal(span?.attributes["switchyard.stream.items"], 5);
  assert.equal(span?.attributes["switchyard.stream.outcome"], "plugin_error");
  assert.equal(span?.attributes["switchyard.error.code"], "boom");
  assert.equal(span?.status.code, 2);
  assert.equal(span?.attributes["http.response.status_code"], 200);
});
