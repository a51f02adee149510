import {
  clip,
  kindFromOtlp,
  MAX_SPAN_EVENTS,
  putAttribute,
  spanValue,
  statusFromOtlp,
  validIds,
} from "./span_record.ts";
import type { SpanEvent, SpanRecord, SpanValue } from "./span_record.ts";

/** Spans taken from one export at most; the ring's capacity bounds what stays anyway. */
export const MAX_SPANS_PER_EXPORT = 8_192;

/**
 * The spans of an OTLP/HTTP JSON `ExportTraceServiceRequest` (the OTLP/JSON mapping: hex ids,
 * camelCase fields, 64-bit numbers as strings). The body is a plugin's, so it is treated as
 * untrusted: malformed spans are skipped, names and attributes are cut to the ring's limits.
 * @throws {TypeError} when the body is not an export request at all.
 */
export function decodeOtlpJson(body: unknown): SpanRecord[] {
  if (!isObject(body)) throw new TypeError("not an ExportTraceServiceRequest");
  const out: SpanRecord[] = [];
  for (const rs of list(body.resourceSpans)) {
    if (!isObject(rs)) continue;
    const resource = isObject(rs.resource) ? attributesOf(rs.resource.attributes) : {};
    const service = typeof resource["service.name"] === "string" ? resource["service.name"] : "";
    for (const ss of list(rs.scopeSpans)) {
      if (!isObject(ss)) continue;
      for (const s of list(ss.spans)) {
        if (out.length >= MAX_SPANS_PER_EXPORT) return out;
        const span = isObject(s) ? spanOf(s, service) : undefined;
        if (span !== undefined) out.push(span);
      }
    }
  }
  return out;
}

function spanOf(s: Record<string, unknown>, service: string): SpanRecord | undefined {
  const traceId = id(s.traceId, 16);
  const spanId = id(s.spanId, 8);
  const parentSpanId = s.parentSpanId === undefined || s.parentSpanId === "" ? "" : id(s.parentSpanId, 8);
  if (
    traceId === undefined || spanId === undefined || parentSpanId === undefined ||
    !validIds(traceId, spanId, parentSpanId)
  ) return undefined;
  const startMs = nanosToMs(s.startTimeUnixNano);
  const endMs = nanosToMs(s.endTimeUnixNano);
  if (startMs === undefined || endMs === undefined) return undefined;
  const status = isObject(s.status) ? s.status : {};
  const events: SpanEvent[] = [];
  for (const e of list(s.events).slice(0, MAX_SPAN_EVENTS)) {
    if (!isObject(e)) continue;
    events.push({
      name: clip(String(e.name ?? "")),
      atMs: nanosToMs(e.timeUnixNano) ?? startMs,
      attributes: attributesOf(e.attributes),
    });
  }
  return {
    traceId,
    spanId,
    parentSpanId,
    service: clip(service),
    name: clip(String(s.name ?? "")),
    kind: kindFromOtlp(Number(s.kind ?? 0)),
    startMs,
    durationMs: Math.max(0, endMs - startMs),
    status: statusFromOtlp(Number(status.code ?? 0)),
    statusMessage: clip(String(status.message ?? "")),
    attributes: attributesOf(s.attributes),
    events,
  };
}

/** A list of OTLP `KeyValue`s as the ring keeps attributes. */
function attributesOf(kvs: unknown): Record<string, SpanValue> {
  const out: Record<string, SpanValue> = {};
  for (const kv of list(kvs)) {
    if (!isObject(kv) || typeof kv.key !== "string") continue;
    putAttribute(out, kv.key, anyValue(kv.value));
  }
  return out;
}

/** An OTLP `AnyValue`: scalars as themselves, arrays and maps as JSON text. */
function anyValue(value: unknown): SpanValue | undefined {
  if (!isObject(value)) return undefined;
  if (typeof value.stringValue === "string") return value.stringValue;
  if (typeof value.boolValue === "boolean") return value.boolValue;
  if (value.intValue !== undefined) return Number(value.intValue);
  if (value.doubleValue !== undefined) return Number(value.doubleValue);
  if (isObject(value.arrayValue)) return spanValue(list(value.arrayValue.values).map(anyValue));
  if (isObject(value.kvlistValue)) return spanValue(JSON.stringify(attributesOf(value.kvlistValue.values)));
  return undefined;
}

/** A hex id (or, from older exporters, base64) of `bytes` bytes, as lowercase hex. */
function id(value: unknown, bytes: number): string | undefined {
  if (typeof value !== "string") return undefined;
  if (value.length === bytes * 2) return value.toLowerCase();
  try {
    const raw = atob(value);
    if (raw.length !== bytes) return undefined;
    let hex = "";
    for (let i = 0; i < raw.length; i++) hex += raw.charCodeAt(i).toString(16).padStart(2, "0");
    return hex;
  } catch {
    return undefined;
  }
}

function nanosToMs(value: unknown): number | undefined {
  const n = typeof value === "string" ? Number(value) : typeof value === "number" ? value : NaN;
  return Number.isFinite(n) && n >= 0 ? n / 1e6 : undefined;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function list(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}
