/**
 * What the router's stream telemetry adds per item, in one process: `StreamMeter.sent()` on
 * messages of 1 and of 128 items (the plugin's largest batch), tracing off, and on with a span that
 * records (an `items` event each 100 items; spans made, not exported).
 *
 *   node bench/streaming/meter_cost.ts [--items 2000000]     (also: deno run -A, bun run)
 * @module
 */
import process from "node:process";
import { parseArgs } from "node:util";
import { TracerProvider } from "@opentelemetry/sdk-trace";
import type { SpanProcessor } from "@opentelemetry/sdk-trace";
import { createRouterMetrics, RequestTrace, StreamMeter } from "../../src/telemetry/mod.ts";

const { values } = parseArgs({ args: process.argv.slice(2), options: { items: { type: "string", default: "2000000" } } });
const N = Number(values.items);
const encoder = new TextEncoder();
const message = (items: number) => encoder.encode(Array.from({ length: items }, (_, i) => JSON.stringify({ i: 100_000 + i })).join("\n"));
const noop: SpanProcessor = { onStart() {}, onEnd() {}, forceFlush: () => Promise.resolve(), shutdown: () => Promise.resolve() };
const tracer = new TracerProvider({ spanProcessors: [noop] }).getTracer("switchyard");
const request = new Request("http://127.0.0.1:8080/v1/ticker/ticks", { method: "POST" });
const metrics = createRouterMetrics({ processMetrics: false });

function run(perMessage: number, traced: boolean): number {
  const data = message(perMessage);
  const series = metrics.series("ticker", "ticks");
  const trace = traced ? new RequestTrace(tracer, request, "r-1", []) : undefined;
  const meter = new StreamMeter(series, trace, performance.now());
  const messages = Math.ceil(N / perMessage);
  const t0 = performance.now();
  for (let m = 0; m < messages; m++) meter.sent(data);
  const ns = ((performance.now() - t0) * 1e6) / (messages * perMessage);
  meter.end("", false);
  trace?.end(new Response(null, { status: 200 }), "");
  return ns;
}

for (const traced of [false, true]) {
  for (const perMessage of [1, 128]) {
    run(perMessage, traced); // warm-up
    const ns = run(perMessage, traced);
    process.stdout.write(`${traced ? "tracing on " : "tracing off"}, ${String(perMessage).padStart(3)} item(s)/message: ${ns.toFixed(1).padStart(6)} ns per item\n`);
  }
}
