import { createTraceState, ROOT_CONTEXT, trace, TraceFlags } from "@opentelemetry/api";
import type { Context, SpanContext } from "@opentelemetry/api";
import type { MsgHdrs } from "@nats-io/nats-core";

/** The W3C trace-context headers the bus protocol carries (docs/protocol.md). */
export const H_TRACEPARENT = "traceparent";
export const H_TRACESTATE = "tracestate";

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;
const ZERO_TRACE = "00000000000000000000000000000000";
const ZERO_SPAN = "0000000000000000";

/**
 * Writes `span`'s context into NATS headers as W3C `traceparent` (and `tracestate`). The NATS hop is
 * Switchyard's own protocol, which always speaks W3C trace context whatever `OTEL_PROPAGATORS` says
 * for HTTP; writing it directly skips the composite propagator and a context per attempt.
 */
export function injectTraceContext(span: SpanContext, headers: MsgHdrs): void {
  headers.set(H_TRACEPARENT, `00-${span.traceId}-${span.spanId}-${(span.traceFlags & TraceFlags.SAMPLED) === 0 ? "00" : "01"}`);
  const state = span.traceState?.serialize();
  if (state) headers.set(H_TRACESTATE, state);
}

/** The caller's context from NATS headers (a remote parent), or the root context when there is none or it is malformed. */
export function extractTraceContext(headers: MsgHdrs | undefined): Context {
  if (headers === undefined) return ROOT_CONTEXT;
  const m = TRACEPARENT.exec(headers.get(H_TRACEPARENT));
  if (m === null || m[1] === ZERO_TRACE || m[2] === ZERO_SPAN) return ROOT_CONTEXT;
  const state = headers.get(H_TRACESTATE);
  const parent: SpanContext = {
    traceId: m[1]!,
    spanId: m[2]!,
    traceFlags: Number.parseInt(m[3]!, 16) & TraceFlags.SAMPLED,
    isRemote: true,
    ...(state === "" ? {} : { traceState: createTraceState(state) }),
  };
  return trace.setSpanContext(ROOT_CONTEXT, parent);
}
