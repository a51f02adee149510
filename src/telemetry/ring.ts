/**
 * The router's span ring and what feeds it: the ring, the tracer that keeps the router's spans in
 * it, OTLP/HTTP decoding of plugins' exports, forwarding, trace trees (docs/dashboard.md). A module
 * of its own beside `mod.ts`, so plugin processes, which import `mod.ts`, do not load it.
 *
 * @example
 * ```ts
 * import { ringTracer, SpanRing } from "./ring.ts";
 * const ring = new SpanRing(10_000);
 * const tracer = ringTracer(ring, "switchyard-router"); // pass as the router's tracer
 * ```
 * @module
 */
export { SpanRing } from "./span_ring.ts";
export { ringTracer } from "./ring_tracer.ts";
export { traceTree } from "./trace_tree.ts";
export { decodeOtlpJson } from "./otlp_json.ts";
export { decodeOtlpProtobuf } from "./otlp_protobuf.ts";
export { FORWARDED_HEADER, otlpForwarder } from "./otlp_forward.ts";
export type { TraceSummary } from "./span_ring.ts";
export type { TreeRow } from "./trace_tree.ts";
export type { SpanEvent, SpanKindName, SpanRecord, SpanStatusName, SpanValue } from "./span_record.ts";
