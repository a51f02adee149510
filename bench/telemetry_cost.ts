/**
 * CPU cost per request of the telemetry the request path calls, in one process: the metrics record
 * (always on), and with tracing on, the router's spans (server + one NATS attempt) and the plugin's
 * span, exported by the real SDK over OTLP/HTTP to a local sink (so serialization and export count).
 *
 *   node bench/telemetry_cost.ts [--requests 20000]     (also: deno run -A, bun run)
 *   DEAD_COLLECTOR=1 node bench/telemetry_cost.ts       (endpoint on a closed port)
 *   OTEL_TRACES_SAMPLER=traceidratio OTEL_TRACES_SAMPLER_ARG=0.1 node bench/telemetry_cost.ts
 * The request carries a sampled `traceparent` unless a sampler is set (a parent-based one would obey it).
 * @module
 */
import process from "node:process";
import { spawn } from "node:child_process";
import { parseArgs } from "node:util";
import { headers as natsHeaders } from "@nats-io/nats-core";
import type { Msg } from "@nats-io/nats-core";
import { noopLogger } from "../src/deps.ts";
import { replyOf } from "../src/bus/mod.ts";
import { createRouterMetrics, PluginTracing, RouterTelemetry } from "../src/telemetry/mod.ts";
import { startTelemetry } from "../src/telemetry/otel_sdk.ts";

const { values } = parseArgs({ args: process.argv.slice(2), options: { requests: { type: "string", default: "20000" } } });
const N = Number(values.requests);

const sink = spawn("node", ["bench/otlp_sink.ts", "--port", "0"], { stdio: ["ignore", "pipe", "inherit"] });
const port = await new Promise<number>((resolve) => sink.stdout!.once("data", (d) => resolve(JSON.parse(String(d)).port)));
// The SDK reads process.env itself.
process.env.OTEL_EXPORTER_OTLP_ENDPOINT = process.env.DEAD_COLLECTOR === "1" ? "http://127.0.0.1:9" : `http://127.0.0.1:${port}`;
process.env.OTEL_TRACES_SAMPLER ??= "always_on";
// A queue that holds a whole round, so every span is exported and its export counted.
process.env.OTEL_BSP_MAX_QUEUE_SIZE = String(4 * N);
const telemetry = await startTelemetry(process.env, "telemetry-cost", noopLogger);
const tracer = telemetry.tracer!;

const metrics = createRouterMetrics({ processMetrics: false });
const off = new RouterTelemetry({ metrics, logger: noopLogger });
const on = new RouterTelemetry({ metrics, tracer, logger: noopLogger });
// The request pipeline's resolved target, as telemetry reads it.
const target = { plugin: "hello", method: { name: "greet", subject: "sy.hello.1_2_0.greet" }, version: { version: "1.2.0" } };
const replyHeaders = natsHeaders();
replyHeaders.set("sy-instance", "inst-1");
const reply = replyOf(new Uint8Array(24), replyHeaders);
const pluginTracing = new PluginTracing(tracer, { plugin: "hello", version: "1.2.0", instanceId: "inst-1", queue: "hello@1.2.0", ownBase: "sy.$i.inst-1" });
const request = new Request("http://127.0.0.1:8080/v1/hello/greet", {
  method: "POST",
  headers: {
    "content-type": "application/json",
    ...(process.env.OTEL_TRACES_SAMPLER === "always_on" ? { traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01" } : {}),
  },
});
const response = new Response("{}", { status: 200, headers: { "x-plugin-instance": "inst-1" } });

async function routerSide(t: RouterTelemetry, i: number): Promise<void> {
  const started = performance.now();
  const trace = t.begin(request, `r-${i}`);
  const series = t.enter(target, trace);
  if (trace !== undefined) {
    // One attempt as the pipeline runs it: span started, instance picked, reply, span ended.
    const hdrs = natsHeaders();
    const attempt = trace.startAttempt(hdrs);
    trace.picked("inst-1", "sy.$i.hello.inst-1.greet");
    await Promise.resolve();
    // The plugin side of the same hop, continuing the context the attempt wrote.
    const handler = pluginTracing.begin({ subject: "sy.hello.1_2_0.greet", headers: hdrs, data: reply.data } as unknown as Msg, "greet");
    pluginTracing.end(handler, undefined);
    trace.endAttempt(attempt, reply, undefined);
  }
  t.finish(series, response, "", started, trace, `r-${i}`);
}

async function measure(name: string, t: RouterTelemetry): Promise<number> {
  for (let i = 0; i < 2_000; i++) await routerSide(t, i);
  const c0 = process.cpuUsage();
  for (let i = 0; i < N; i++) await routerSide(t, i);
  // Let the batch processor export what this round queued, and count that CPU too.
  await new Promise((resolve) => setTimeout(resolve, 5_500));
  const c = process.cpuUsage(c0);
  const us = (c.user + c.system) / N;
  console.log(`${name.padEnd(34)} ${us.toFixed(2)} µs CPU per request`);
  return us;
}

const base = await measure("metrics only (tracing off)", off);
const traced = await measure("tracing on (3 spans, exported)", on);
console.log(`tracing adds ${(traced - base).toFixed(1)} µs CPU per request (router and plugin sides together)`);
const stats = await (await fetch(`http://127.0.0.1:${port}/stats`)).json() as { exports: number; bytes: number };
console.log(`sink: ${stats.exports} exports, ${stats.bytes} bytes`);
await telemetry.shutdown();
sink.kill();
