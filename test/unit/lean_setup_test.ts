import { test } from "node:test";
import assert from "node:assert/strict";
import process from "node:process";
import { context, propagation, SpanKind, trace } from "@opentelemetry/api";
import { startTelemetry } from "../../src/telemetry/otel_sdk.ts";
import { LeanTracer } from "../../src/telemetry/lean_tracer.ts";
import { startOtlpReceiver } from "../../src/testing/otlp_receiver.ts";
import { captureLogger, waitFor } from "../../src/testing/mod.ts";

test("startTelemetry() with OTLP over HTTP registers the lean tracer, its propagators and resource, and flushes on shutdown", async () => {
  await using receiver = await startOtlpReceiver();
  const saved = { ...process.env };
  Object.assign(process.env, {
    OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
    OTEL_TRACES_SAMPLER: "always_on",
    OTEL_PROPAGATORS: "tracecontext,b3",
    OTEL_SERVICE_NAME: "lean-setup-test",
    OTEL_BSP_SCHEDULE_DELAY: "60000",
  });
  const logger = captureLogger();
  try {
    const telemetry = await startTelemetry(process.env, "fallback-name", logger, { activeContext: true });
    assert.ok(telemetry.tracer instanceof LeanTracer, "the tracer is the lean one");
    const on = logger.entries.find((e) => e.msg === "tracing on");
    assert.equal(on?.attrs.export, "switchyard tracer, encoded at span end, sent from a worker thread");
    assert.deepEqual(propagation.fields().sort(), ["b3", "traceparent", "tracestate"]);
    // A plugin's own tracer comes from the global provider and nests under the active span.
    const request = telemetry.tracer!.startSpan("process hello.greet", { kind: SpanKind.SERVER });
    await context.with(trace.setSpan(context.active(), request), async () => {
      await Promise.resolve();
      trace.getTracer("weather", "1.0.0").startActiveSpan("load forecast", (span) => span.end());
    });
    request.end();
    await telemetry.shutdown(); // flushes what the 60 s batch delay would have kept
    await waitFor(() => receiver.spans.length >= 2, { timeoutMs: 10_000, message: "both spans at the receiver" });
    const own = receiver.spans.find((s) => s.name === "load forecast")!;
    assert.equal(own.parentSpanId, request.spanContext().spanId);
    assert.equal(own.service, "lean-setup-test");
    const resource = receiver.resources[0]!;
    assert.equal(resource["service.name"], "lean-setup-test");
    assert.equal(resource["telemetry.sdk.language"], "nodejs");
    assert.ok("process.pid" in resource && "host.name" in resource, JSON.stringify(resource));
  } finally {
    for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
    Object.assign(process.env, saved);
    trace.disable();
    context.disable();
    propagation.disable();
  }
});
