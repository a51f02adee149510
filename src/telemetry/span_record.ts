/** A span's kind, as OpenTelemetry names them. */
export type SpanKindName = "internal" | "server" | "client" | "producer" | "consumer";

/** A span's status, as OpenTelemetry names them. */
export type SpanStatusName = "unset" | "ok" | "error";

/** An attribute value as the ring keeps it: arrays are kept as their JSON text. */
export type SpanValue = string | number | boolean;

/** One finished span, from the router itself or from a plugin's OTLP export. */
export interface SpanRecord {
  /** 32 lowercase hex digits. */
  readonly traceId: string;
  /** 16 lowercase hex digits. */
  readonly spanId: string;
  /** `""` for a root span. */
  readonly parentSpanId: string;
  /** `service.name` of the process that made it: `switchyard-router`, `plugin-hello`, ... */
  readonly service: string;
  readonly name: string;
  readonly kind: SpanKindName;
  /** Milliseconds since the epoch, with fractions. */
  readonly startMs: number;
  readonly durationMs: number;
  readonly status: SpanStatusName;
  readonly statusMessage: string;
  readonly attributes: Readonly<Record<string, SpanValue>>;
  readonly events: readonly SpanEvent[];
}

/** An event on a span (a retry, an ejection, an exception). */
export interface SpanEvent {
  readonly name: string;
  readonly atMs: number;
  readonly attributes: Readonly<Record<string, SpanValue>>;
}

/** Attributes kept per span or event; the rest are dropped (a plugin's export is untrusted input). */
export const MAX_SPAN_ATTRIBUTES = 32;
/** Events kept per span. */
export const MAX_SPAN_EVENTS = 16;
/** Characters kept of a name, or of an attribute's string value. */
export const MAX_SPAN_TEXT = 512;

const TRACE_ID = /^[0-9a-f]{32}$/;
const SPAN_ID = /^[0-9a-f]{16}$/;
const KINDS: readonly SpanKindName[] = ["internal", "server", "client", "producer", "consumer"];

/** `text` cut to {@linkcode MAX_SPAN_TEXT} characters. */
export function clip(text: string): string {
  return text.length > MAX_SPAN_TEXT ? `${text.slice(0, MAX_SPAN_TEXT)}…` : text;
}

/** An attribute value as the ring keeps it, or `undefined` to drop it. */
export function spanValue(value: unknown): SpanValue | undefined {
  if (typeof value === "string") return clip(value);
  if (typeof value === "number" || typeof value === "boolean") return value;
  if (typeof value === "bigint") return Number(value);
  if (Array.isArray(value)) return clip(JSON.stringify(value));
  return undefined;
}

/** Adds `key: value` to `attributes` while there is room (an existing key is replaced). */
export function putAttribute(attributes: Record<string, SpanValue>, key: string, value: unknown): void {
  const kept = spanValue(value);
  if (kept === undefined) return;
  if (!(key in attributes) && Object.keys(attributes).length >= MAX_SPAN_ATTRIBUTES) return;
  attributes[clip(key)] = kept;
}

/** The OTLP kind number (0 unspecified, 1 internal, 2 server, ...) as a name. */
export function kindFromOtlp(kind: number): SpanKindName {
  return KINDS[kind - 1] ?? "internal";
}

/** The OTLP status code number (0 unset, 1 ok, 2 error) as a name. */
export function statusFromOtlp(code: number): SpanStatusName {
  return code === 2 ? "error" : code === 1 ? "ok" : "unset";
}

/** True when the ids are well-formed (lowercase hex of the right length; the parent may be empty). */
export function validIds(traceId: string, spanId: string, parentSpanId: string): boolean {
  return TRACE_ID.test(traceId) && SPAN_ID.test(spanId) &&
    (parentSpanId === "" || SPAN_ID.test(parentSpanId));
}
