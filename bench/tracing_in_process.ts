/**
 * What tracing costs the whole request path, without an HTTP server or load generator in the way:
 * the router (`createRouter()`) and the hello plugin (`servePlugin()`) in one process over a real
 * nats-server, N requests through `app.fetch()` with C in flight, every request sampled, for each
 * export path in turn (rounds interleaved, medians printed):
 *   - `off`: no tracer;
 *   - `spans`: spans made, not exported (a processor that does nothing);
 *   - `sdk`: the SDK's BatchSpanProcessor + OTLP/HTTP protobuf exporter (what Switchyard used before);
 *   - `inline`: SpanExportProcessor, encoded at span end and sent from this thread;
 *   - `worker`: the SDK's tracer, SpanExportProcessor, encoded at span end and sent from a worker;
 *   - `leanspans`: the lean tracer's spans made, not encoded or exported;
 *   - `leanencode`: the lean tracer's spans encoded and batched, each batch then dropped (what the
 *     serving thread spends before a batch leaves for the worker);
 *   - `lean`: Switchyard's lean tracer into the same processor and worker (what the CLI starts).
 * Spans go to a local OTLP sink. CPU is the whole process (every thread) per request, "main" the
 * thread that serves requests.
 *
 *   <runtime> bench/tracing_in_process.ts [--requests 20000] [--concurrency 64] [--rounds 3]
 *                                        [--modes off,spans,sdk,worker,leanspans,leanencode,lean] [--active-context]
 * `--active-context` registers the AsyncLocalStorage context manager, as a plugin process has.
 * @module
 */
import process from "node:process";
import { spawn } from "node:child_process";
import { parseArgs } from "node:util";
import { context, DiagLogLevel, propagation } from "@opentelemetry/api";
import type { Tracer } from "@opentelemetry/api";
import { W3CTraceContextPropagator } from "@opentelemetry/core";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import { BatchSpanProcessor, TracerProvider } from "@opentelemetry/sdk-trace";
import type { SpanProcessor } from "@opentelemetry/sdk-trace";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-proto";
import { connectBus, RequestMux } from "../src/bus/mod.ts";
import { pipelineSettings, resolveConfig } from "../src/config/mod.ts";
import { RequestPipeline } from "../src/pipeline/mod.ts";
import { Registry, startDiscovery } from "../src/registry/mod.ts";
import { createRouter } from "../src/router/mod.ts";
import { servePlugin } from "../src/host/mod.ts";
import { noopLogger, systemClock } from "../src/deps.ts";
import { startNatsServer, waitFor } from "../src/testing/mod.ts";
import { SpanExportProcessor } from "../src/telemetry/span_export_processor.ts";
import { WorkerSender } from "../src/telemetry/worker_sender.ts";
import { createOtlpHttpSender } from "../src/telemetry/otlp_http_sender.ts";
import { LeanTracerProvider } from "../src/telemetry/lean_tracer.ts";
import { SpanSampler } from "../src/telemetry/span_sampler.ts";
import { spanLimitsFromEnv } from "../src/telemetry/span_attributes.ts";
import { defaultResource } from "@opentelemetry/resources";
import hello from "../plugins/hello/mod.ts";

const MODES = ["off", "spans", "sdk", "inline", "worker", "leanspans", "leanencode", "lean"] as const;
type Mode = typeof MODES[number];

const { values } = parseArgs({
  args: process.argv.slice(2),
  options: {
    requests: { type: "string", default: "20000" },
    concurrency: { type: "string", default: "64" },
    rounds: { type: "string", default: "3" },
    modes: { type: "string", default: MODES.join(",") },
    "active-context": { type: "boolean", default: false },
  },
});
const N = Number(values.requests);
const C = Number(values.concurrency);
const modes = values.modes.split(",").map((m) => {
  if (!(MODES as readonly string[]).includes(m)) throw new RangeError(`Unknown mode "${m}" (${MODES.join(", ")})`);
  return m as Mode;
});
const BODY = JSON.stringify({ name: "World" });

const sink = spawn("node", ["bench/otlp_sink.ts", "--port", "0"], { stdio: ["ignore", "pipe", "inherit"] });
const sinkPort = await new Promise<number>((resolve) => sink.stdout!.once("data", (d) => resolve(JSON.parse(String(d)).port)));
process.env.OTEL_EXPORTER_OTLP_ENDPOINT = `http://127.0.0.1:${sinkPort}`;
propagation.setGlobalPropagator(new W3CTraceContextPropagator());
if (values["active-context"]) context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());

const NO_EXPORT = { forceFlush: () => Promise.resolve(), shutdown: () => Promise.resolve() };

function processorFor(mode: Mode): SpanProcessor | undefined {
  switch (mode) {
    case "off":
      return undefined;
    case "spans":
      return { onStart() {}, onEnd() {}, forceFlush: () => Promise.resolve(), shutdown: () => Promise.resolve() };
    case "sdk":
      return new BatchSpanProcessor({ exporter: new OTLPTraceExporter() });
    case "inline":
      return new SpanExportProcessor(createOtlpHttpSender());
    case "leanspans":
      return { onStart() {}, onEnd() {}, forceFlush: () => Promise.resolve(), shutdown: () => Promise.resolve() };
    case "leanencode":
      // Encoded and batched, then dropped: what the main thread spends before the worker takes over.
      return new SpanExportProcessor({ send: (_batch, done) => done(undefined), forceFlush: () => Promise.resolve(), shutdown: () => Promise.resolve() });
    case "worker":
    case "lean":
      return new SpanExportProcessor(new WorkerSender({ logLevel: DiagLogLevel.NONE }));
  }
}

await using nats = await startNatsServer();
const pluginNc = await connectBus({ servers: [nats.url], name: "bench-plugin" });
const routerNc = await connectBus({ servers: [nats.url], name: "bench-router" });
const config = resolveConfig({}, {});

/** One round of one mode: a fresh plugin host and router with that mode's tracer; CPU µs per request. */
async function round(mode: Mode): Promise<Result> {
  const processor = processorFor(mode);
  const provider = processor === undefined
    ? undefined
    : mode === "lean" || mode === "leanspans" || mode === "leanencode"
    ? new LeanTracerProvider({ processor: mode !== "leanspans" ? processor as SpanExportProcessor : { ...NO_EXPORT, append() {} }, resource: defaultResource(), sampler: new SpanSampler("on", true), limits: spanLimitsFromEnv({}) })
    : new TracerProvider({ spanProcessors: [processor] });
  const tracer: Tracer | undefined = provider?.getTracer("switchyard");
  const host = await servePlugin(hello, pluginNc, { instanceId: `bench-${mode}`, tracer });
  const registry = new Registry(config.prefix);
  const mux = new RequestMux(routerNc);
  const discovery = startDiscovery(routerNc, registry, { prefix: config.prefix, mux, intervalMs: 60_000 }, { clock: systemClock, logger: noopLogger });
  await discovery.refresh();
  await waitFor(() => registry.pick("hello", undefined) != null, { timeoutMs: 5_000, message: "hello discovered" });
  const pipeline = new RequestPipeline({ registry, mux, settings: pipelineSettings(config), clock: systemClock, logger: noopLogger });
  const app = createRouter({ pipeline, settings: () => config, telemetry: { tracer } });
  const once = async () => {
    const res = await app.fetch(new Request("http://x/v1/hello/greet", { method: "POST", body: BODY, headers: { "content-type": "application/json", "content-length": String(BODY.length) } }));
    if (res.status !== 200) throw new Error(`${mode}: status ${res.status}: ${await res.text()}`);
    await res.arrayBuffer();
  };
  for (let i = 0; i < 2_000; i++) await once(); // warm-up
  await provider?.forceFlush();
  let left = N;
  const cpu0 = process.cpuUsage();
  const main0 = process.threadCpuUsage();
  const t0 = performance.now();
  await Promise.all(Array.from({ length: C }, async () => {
    while (left-- > 0) await once();
  }));
  const ms = performance.now() - t0;
  // The export of what this round made counts too.
  await provider?.forceFlush();
  const cpu = process.cpuUsage(cpu0);
  const main = process.threadCpuUsage(main0);
  discovery.stop();
  await host.drain({ timeoutMs: 1_000 });
  await provider?.shutdown();
  return { us: (cpu.user + cpu.system) / N, mainUs: (main.user + main.system) / N, rps: N / ms * 1000 };
}

interface Result {
  us: number;
  mainUs: number;
  rps: number;
}

const results = new Map<Mode, Result[]>(modes.map((m) => [m, []]));
for (let r = 1; r <= Number(values.rounds); r++) {
  for (const mode of modes) {
    const res = await round(mode);
    results.get(mode)!.push(res);
    process.stdout.write(`round ${r} ${mode.padEnd(6)} ${res.rps.toFixed(0).padStart(6)} req/s ${res.us.toFixed(1).padStart(7)} CPU µs/req ${res.mainUs.toFixed(1).padStart(7)} main\n`);
  }
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const off = results.get("off");
process.stdout.write(`\nmedians (${N} requests, c=${C}${values["active-context"] ? ", AsyncLocalStorage context manager" : ""}):\n`);
for (const [mode, rs] of results) {
  const us = median(rs.map((x) => x.us));
  const mainUs = median(rs.map((x) => x.mainUs));
  const rps = median(rs.map((x) => x.rps));
  const vsOff = off === undefined ? "" : `  CPU ×${(us / median(off.map((x) => x.us))).toFixed(2)}, req/s ×${(rps / median(off.map((x) => x.rps))).toFixed(2)} of off`;
  process.stdout.write(`${mode.padEnd(6)} ${rps.toFixed(0).padStart(6)} req/s ${us.toFixed(1).padStart(7)} CPU µs/req ${mainUs.toFixed(1).padStart(7)} main${vsOff}\n`);
}
await routerNc.close();
await pluginNc.close();
sink.kill();
process.exit(0);
