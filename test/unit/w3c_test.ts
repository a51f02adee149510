import { test } from "node:test";
import assert from "node:assert/strict";
import { headers as natsHeaders } from "@nats-io/nats-core";
import { ROOT_CONTEXT, trace, TraceFlags } from "@opentelemetry/api";
import { extractTraceContext, injectTraceContext } from "../../src/telemetry/w3c.ts";

const TRACE = "0af7651916cd43dd8448eb211c80319c";
const SPAN = "b7ad6b7169203331";

function extract(traceparent: string | undefined, tracestate?: string) {
  const h = natsHeaders();
  if (traceparent !== undefined) h.set("traceparent", traceparent);
  if (tracestate !== undefined) h.set("tracestate", tracestate);
  return trace.getSpanContext(extractTraceContext(h));
}

test("extractTraceContext() reads a well-formed traceparent as a remote parent, with its sampled flag and tracestate", () => {
  assert.deepEqual(extract(`00-${TRACE}-${SPAN}-01`), { traceId: TRACE, spanId: SPAN, traceFlags: TraceFlags.SAMPLED, isRemote: true });
  assert.equal(extract(`00-${TRACE}-${SPAN}-00`)?.traceFlags, TraceFlags.NONE);
  assert.equal(extract(`00-${TRACE}-${SPAN}-03`)?.traceFlags, TraceFlags.SAMPLED, "only the sampled bit is kept");
  assert.equal(extract(`00-${TRACE}-${SPAN}-02`)?.traceFlags, TraceFlags.NONE);
  assert.equal(extract(`00-${TRACE}-${SPAN}-01`, "vendor=x,other=y")?.traceState?.serialize(), "vendor=x,other=y");
  assert.equal(extractTraceContext(undefined), ROOT_CONTEXT);
});

test("extractTraceContext() gives the root context for a missing or malformed traceparent", () => {
  for (
    const bad of [
      undefined,
      "",
      `01-${TRACE}-${SPAN}-01`, // another version
      `00-${TRACE.toUpperCase()}-${SPAN}-01`, // uppercase
      `00-${TRACE}-${SPAN}-01-extra`,
      `00-${TRACE}-${SPAN}-1`,
      `00-${TRACE.slice(1)}0-${SPAN}-0g`,
      `00-${TRACE}_${SPAN}-01`,
      `00-${"0".repeat(32)}-${SPAN}-01`, // zero trace id
      `00-${TRACE}-${"0".repeat(16)}-01`, // zero span id
      `00-${TRACE.slice(0, 31)}ü-${SPAN}-01`,
    ]
  ) {
    assert.equal(extract(bad), undefined, String(bad));
  }
});

test("injectTraceContext() writes what extractTraceContext() reads back", () => {
  const h = natsHeaders();
  const ctx = extract(`00-${TRACE}-${SPAN}-01`, "vendor=x")!;
  injectTraceContext(ctx, h);
  assert.equal(h.get("traceparent"), `00-${TRACE}-${SPAN}-01`);
  assert.deepEqual(trace.getSpanContext(extractTraceContext(h))?.traceState?.serialize(), "vendor=x");
});

test("the context extractTraceContext() gives reads and derives like the API's own", async () => {
  const { SpanOnlyContext, withSpan } = await import("../../src/telemetry/span_only_context.ts");
  const { createContextKey } = await import("@opentelemetry/api");
  const ctx = (() => {
    const h = natsHeaders();
    h.set("traceparent", `00-${TRACE}-${SPAN}-01`);
    return extractTraceContext(h);
  })();
  assert.equal(trace.getSpanContext(ctx)?.spanId, SPAN);
  const key = createContextKey("some other value");
  const more = ctx.setValue(key, 42);
  assert.equal(more.getValue(key), 42, "another key is kept");
  assert.equal(trace.getSpanContext(more)?.spanId, SPAN, "the span stays");
  assert.equal(ctx.getValue(key), undefined, "the original is unchanged");
  assert.equal(trace.getSpan(trace.deleteSpan(ctx)), undefined);
  assert.equal(ctx.deleteValue(key), ctx);
  const child = trace.wrapSpanContext({ traceId: TRACE, spanId: "1111111111111111", traceFlags: TraceFlags.SAMPLED });
  const under = withSpan(ctx, child);
  assert.ok(under instanceof SpanOnlyContext);
  assert.equal(trace.getSpan(under), child);
  assert.equal(trace.getSpan(trace.setSpan(under, trace.getSpan(ctx)!))?.spanContext().spanId, SPAN);
  // A parent holding more than a span keeps it all.
  const rich = withSpan(more, child);
  assert.equal(rich.getValue(key), 42);
  assert.equal(trace.getSpan(rich), child);
});
