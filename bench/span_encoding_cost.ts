/**
 * Encoding cost per span: the SDK's OTLP protobuf serializer against Switchyard's `writeSpan()`, on the
 * same freshly ended spans (the router's two, with their attributes, 500 requests a round). Rounds
 * alternate which one goes first; CPU time of this thread, per span.
 *
 *   node bench/span_encoding_cost.ts [--rounds 150]     (also: deno run -A, bun run)
 * @module
 */
import process from "node:process";
import { parseArgs } from "node:util";
import { ROOT_CONTEXT, SpanKind, trace } from "@opentelemetry/api";
import { TracerProvider } from "@opentelemetry/sdk-trace";
import type { ReadableSpan, SpanProcessor } from "@opentelemetry/sdk-trace";
import { ProtobufTraceSerializer } from "@opentelemetry/otlp-transformer";
import { writeSpan } from "../src/telemetry/otlp_proto.ts";
import { ProtoWriter } from "../src/telemetry/proto_writer.ts";

const { values } = parseArgs({ args: process.argv.slice(2), options: { rounds: { type: "string", default: "150" } } });
const ROUNDS = Number(values.rounds);
const WARM_UP_ROUNDS = 20;

const ended: ReadableSpan[] = [];
const collect: SpanProcessor = { onStart() {}, onEnd: (s) => void ended.push(s), forceFlush: () => Promise.resolve(), shutdown: () => Promise.resolve() };
const tracer = new TracerProvider({ spanProcessors: [collect] }).getTracer("switchyard");
const plugin = "hello", method = "greet", subject = "sy.hello.1_2_0.greet";

/** The router's spans of one request, as `RouterTelemetry` makes them. */
function request(i: number): void {
  const server = tracer.startSpan("POST /v1/:plugin/:method", { kind: SpanKind.SERVER }, ROOT_CONTEXT);
  server.setAttributes({ "http.request.method": "POST", "url.path": `/v1/${plugin}/${method}`, "url.scheme": "http", "switchyard.request_id": `r-${i}-${Math.random().toString(36).slice(2)}` });
  server.updateName(`POST /v1/${plugin}/${method}`);
  server.setAttributes({ "switchyard.plugin": plugin, "switchyard.method": method });
  const attempt = tracer.startSpan(`send ${subject}`, { kind: SpanKind.CLIENT }, trace.setSpan(ROOT_CONTEXT, server));
  attempt.setAttributes({ "messaging.system": "nats", "messaging.operation.type": "send", "messaging.operation.name": "request", "messaging.destination.name": subject, "switchyard.attempt": 1 });
  attempt.setAttribute("switchyard.instance.id", `inst${i % 3}`);
  attempt.end();
  server.setAttributes({ "http.route": `/v1/${plugin}/${method}`, "http.response.status_code": 200 });
  server.setAttribute("switchyard.instance.id", `inst${i % 3}`);
  server.end();
}

const cpu = () => {
  const u = process.threadCpuUsage();
  return u.user + u.system;
};
const encoders: [string, (spans: ReadableSpan[]) => void][] = [
  ["SDK ProtobufTraceSerializer", (spans) => void ProtobufTraceSerializer.serializeRequest(spans)],
  ["writeSpan()", (spans) => {
    const w = new ProtoWriter(1 << 19);
    for (const s of spans) writeSpan(w, s);
  }],
];
const totals = encoders.map(() => 0);
let spans = 0;
for (let round = 0; round < ROUNDS + WARM_UP_ROUNDS; round++) {
  ended.length = 0;
  for (let i = 0; i < 500; i++) request(i);
  for (let j = 0; j < encoders.length; j++) {
    const k = (j + round) % encoders.length;
    const started = cpu();
    encoders[k]![1](ended);
    if (round >= WARM_UP_ROUNDS) totals[k]! += cpu() - started;
  }
  if (round >= WARM_UP_ROUNDS) spans += ended.length;
}
for (const [k, [name]] of encoders.entries()) process.stdout.write(`${name.padEnd(28)} ${(totals[k]! / spans).toFixed(2)} µs CPU per span\n`);
