/**
 * CPU cost per request of the telemetry the request path calls, in one process: the metrics record
 * (always on), and with tracing on, the router's spans (server + one NATS attempt) and the plugin's
 * span, exported over OTLP/HTTP protobuf to a local sink, so encoding and export count. Each export
 * path is measured in turn, with its own tracer provider:
 *   - spans made but not exported (a processor that does nothing): what creating them costs;
 *   - the SDK's BatchSpanProcessor and OTLP/HTTP protobuf exporter (what Switchyard used before);
 *   - SpanExportProcessor sending from this thread;
 *   - SpanExportProcessor sending from a worker thread;
 *   - the lean tracer into SpanExportProcessor, sent from a worker (what the CLI starts).
 * "CPU" is the whole process (every thread); "main" is the thread that serves requests.
 *
 *   node bench/telemetry_cost.ts [--requests 20000]     (also: deno run -A, bun run)
 *   DEAD_COLLECTOR=1 node bench/telemetry_cost.ts       (endpoint on a closed port)
 * @module
 */
import process from "node:process";
import { spawn } from "node:child_process";
import { parseArgs } from "node:util";
import { headers as natsHeaders } from "@nats-io/nats-core";
import type { Msg } from "@nats-io/nats-core";
import { DiagLogLevel, propagation } from "@opentelemetry/api";
import type { Tracer } from "@opentelemetry/api";
import { W3CTraceContextPropagator } from "@opentelemetry/core";
import { BatchSpanProcessor, TracerProvider } from "@opentelemetry/sdk-trace";
import type { SpanProcessor } from "@opentelemetry/sdk-trace";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-proto";
import { noopLogger } from "../src/deps.ts";
import { replyOf } from "../src/bus/mod.ts";
import { createRouterMetrics, PluginTracing, RouterTelemetry } from "../src/telemetry/mod.ts";
import { SpanExportProcessor } from "../src/telemetry/span_export_processor.ts";
import { createOtlpHttpSender } from "../src/telemetry/otlp_http_sender.ts";
import { WorkerSender } from "../src/telemetry/worker_sender.ts";
import { LeanTracerProvider } from "../src/telemetry/lean_tracer.ts";
import { SpanSampler } from "../src/telemetry/span_sampler.ts";
import { spanLimitsFromEnv } from "../src/telemetry/span_attributes.ts";
import { defaultResource } from "@opentelemetry/resources";

const { values } = parseArgs({ args: process.argv.slice(2), options: { requests: { type: "string", default: "20000" } } });
const N = Number(values.requests);

const sink = spawn("node", ["bench/otlp_sink.ts", "--port", "0"], { stdio: ["ignore", "pipe", "inherit"] });
const port = await new Promise<number>((resolve) => sink.stdout!.once("data", (d) => resolve(JSON.parse(String(d)).port)));
// The exporters read process.env themselves.
process.env.OTEL_EXPORTER_OTLP_ENDPOINT = process.env.DEAD_COLLECTOR === "1" ? "http://127.0.0.1:9" : `http://127.0.0.1:${port}`;
propagation.setGlobalPropagator(new W3CTraceContextPropagator());
// A queue that holds a whole round, so every span is exported and its export counted.
const queue = { maxQueueSize: 4 * N, maxExportBatchSize: 512, scheduledDelayMillis: 1000 };

const metrics = createRouterMetrics({ processMetrics: false });
// The request pipeline's resolved target, as telemetry reads it.
const target = { plugin: "hello", method: { name: "greet", subject: "sy.hello.1_2_0.greet" }, version: { version: "1.2.0" } };
const replyHeaders = natsHeaders();
replyHeaders.set("sy-instance", "inst-1");
const reply = replyOf(new Uint8Array(24), replyHeaders);
const request = new Request("http://127.0.0.1:8080/v1/hello/greet", {
  method: "POST",
  headers: { "content-type": "application/json", traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01" },
});
const response = new Response("{}", { status: 200, headers: { "x-plugin-instance": "inst-1" } });

/** One request's telemetry, router side and plugin side. */
async function oneRequest(t: RouterTelemetry, plugin: PluginTracing | undefined, i: number): Promise<void> {
  const started = performance.now();
  const trace = t.begin(request, `r-${i}`);
  const series = t.enter(target, trace);
  if (trace !== undefined && plugin !== undefined) {
    // One attempt as the pipeline makes it: span started, instance picked, reply, span ended.
    const hdrs = natsHeaders();
    const attempt = trace.startAttempt(hdrs);
    trace.picked("inst-1", "sy.$i.hello.inst-1.greet");
    await Promise.resolve();
    // The plugin side of the same hop, continuing the context the attempt wrote.
    const handler = plugin.begin({ subject: "sy.hello.1_2_0.greet", headers: hdrs, data: reply.data } as unknown as Msg, "greet");
    plugin.end(handler, undefined);
    trace.endAttempt(attempt, reply, undefined);
  }
  t.finish(series, response, "", started, trace, `r-${i}`);
}

async function measure(name: string, processor: SpanProcessor | undefined, lean = false): Promise<number> {
  const provider = processor === undefined
    ? undefined
    : lean
    ? new LeanTracerProvider({ processor: processor as SpanExportProcessor, resource: defaultResource(), sampler: new SpanSampler("on", true), limits: spanLimitsFromEnv({}) })
    : new TracerProvider({ spanProcessors: [processor] });
  const tracer: Tracer | undefined = provider?.getTracer("switchyard");
  const t = new RouterTelemetry({ metrics, tracer, logger: noopLogger });
  const plugin = tracer === undefined ? undefined : new PluginTracing(tracer, { plugin: "hello", version: "1.2.0", instanceId: "inst-1", queue: "hello@1.2.0", ownBase: "sy.$i.inst-1" });
  for (let i = 0; i < 2_000; i++) await oneRequest(t, plugin, i);
  await exportsSettled();
  const c0 = process.cpuUsage();
  const m0 = process.threadCpuUsage();
  for (let i = 0; i < N; i++) await oneRequest(t, plugin, i);
  const m = process.threadCpuUsage(m0);
  // Let the export of what this round queued finish, and count that CPU too.
  await exportsSettled();
  const c = process.cpuUsage(c0);
  const us = (c.user + c.system) / N;
  process.stdout.write(`${name.padEnd(48)} ${us.toFixed(2).padStart(7)} µs CPU, ${((m.user + m.system) / N).toFixed(2).padStart(7)} µs main per request\n`);
  await provider?.shutdown();
  return us;
}

/** Waits until the sink has had no export for 1.5 s (and the batch delay has passed). */
async function exportsSettled(): Promise<void> {
  let last = -1;
  let quietSince = performance.now();
  const started = performance.now();
  while (performance.now() - quietSince < 1_500 || performance.now() - started < queue.scheduledDelayMillis + 500) {
    await new Promise((resolve) => setTimeout(resolve, 250));
    const { exports } = await (await fetch(`http://127.0.0.1:${port}/stats`)).json() as { exports: number };
    if (exports !== last) {
      last = exports;
      quietSince = performance.now();
    }
  }
}

const noop: SpanProcessor = { onStart() {}, onEnd() {}, forceFlush: () => Promise.resolve(), shutdown: () => Promise.resolve() };
const base = await measure("metrics only (tracing off)", undefined);
const made = await measure("3 spans, not exported", noop);
const sdk = await measure("3 spans, SDK batch processor + OTLP exporter", new BatchSpanProcessor({ exporter: new OTLPTraceExporter(), ...queue }));
const inline = await measure("3 spans, SpanExportProcessor, sent here", new SpanExportProcessor(createOtlpHttpSender(), queue));
const worker = await measure("3 spans, SpanExportProcessor, sent by a worker", new SpanExportProcessor(new WorkerSender({ logLevel: DiagLogLevel.NONE }), queue));
const lean = await measure("3 spans, lean tracer, SpanExportProcessor, worker", new SpanExportProcessor(new WorkerSender({ logLevel: DiagLogLevel.NONE }), queue), true);
const add = (us: number) => `+${(us - base).toFixed(1)} µs`;
process.stdout.write(
  `tracing adds, per request (router and plugin sides together): creating the spans ${add(made)}, ` +
    `with the SDK's export ${add(sdk)}, with SpanExportProcessor ${add(inline)} (sent here) / ${add(worker)} (worker), ` +
    `lean tracer (worker) ${add(lean)}\n`,
);
const stats = await (await fetch(`http://127.0.0.1:${port}/stats`)).json() as { exports: number; bytes: number };
process.stdout.write(`sink: ${stats.exports} exports, ${stats.bytes} bytes\n`);
sink.kill();
