import { createTraceState, ROOT_CONTEXT, trace, TraceFlags } from "@opentelemetry/api";
import type { Context, SpanContext } from "@opentelemetry/api";
import type { MsgHdrs } from "@nats-io/nats-core";
import { SpanOnlyContext } from "./span_only_context.ts";

/** The W3C trace-context headers the bus protocol carries (docs/protocol.md). */
export const H_TRACEPARENT = "traceparent";
export const H_TRACESTATE = "tracestate";

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
  // `00-<32 hex>-<16 hex>-<2 hex>`, lowercase, checked by hand: this runs for every request a plugin serves.
  const tp = headers.get(H_TRACEPARENT);
  if (
    tp.length !== 55 || tp.charCodeAt(0) !== 48 || tp.charCodeAt(1) !== 48 || tp.charCodeAt(2) !== 45 ||
    tp.charCodeAt(35) !== 45 || tp.charCodeAt(52) !== 45 || !lowerHex(tp, 3, 35) || !lowerHex(tp, 36, 52) || !lowerHex(tp, 53, 55)
  ) return ROOT_CONTEXT;
  const traceId = tp.slice(3, 35);
  const spanId = tp.slice(36, 52);
  if (traceId === ZERO_TRACE || spanId === ZERO_SPAN) return ROOT_CONTEXT;
  const state = headers.get(H_TRACESTATE);
  const parent: SpanContext = {
    traceId,
    spanId,
    traceFlags: HEX_VALUE[tp.charCodeAt(54)]! & TraceFlags.SAMPLED,
    isRemote: true,
    ...(state === "" ? {} : { traceState: createTraceState(state) }),
  };
  return new SpanOnlyContext(trace.wrapSpanContext(parent));
}

/** Digit values of `0-9a-f` (other codes: 255). */
const HEX_VALUE = new Uint8Array(128).fill(255);
for (let i = 0; i < 16; i++) HEX_VALUE["0123456789abcdef".charCodeAt(i)] = i;

function lowerHex(s: string, from: number, to: number): boolean {
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i);
    if (c > 127 || HEX_VALUE[c] === 255) return false;
  }
  return true;
}
