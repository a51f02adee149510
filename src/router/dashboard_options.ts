import * as v from "valibot";

/** Spans the router keeps by default when it keeps traces. */
export const DEFAULT_TRACE_SPANS = 10_000;

/**
 * `router.traces`: the ring of recent spans behind the dashboard's trace views and
 * `switchyard trace` (the router's own spans, and what plugins export to `POST /v1/traces`).
 */
export const TracesSchema = v.strictObject({
  /** Keep recent spans. @default false (`switchyard dev`: true) */
  enabled: v.optional(v.boolean()),
  /** Spans kept at most: the oldest go first. About 1 KB each. @default 10000 */
  maxSpans: v.optional(
    v.pipe(v.number(), v.integer(), v.minValue(100), v.maxValue(1_000_000)),
    DEFAULT_TRACE_SPANS,
  ),
});
export type ResolvedTracesOptions = v.InferOutput<typeof TracesSchema>;

/** Fields added to `router`: the dashboard and its traces. */
export const ROUTER_DASHBOARD_FIELDS = {
  /** Serve `GET /dashboard` (admin role with auth on). Read per request. @default true */
  dashboard: v.optional(v.boolean(), true),
  traces: v.optional(TracesSchema, {}),
};
