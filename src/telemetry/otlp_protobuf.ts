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
import { MAX_SPANS_PER_EXPORT } from "./otlp_json.ts";

/**
 * The spans of an OTLP/HTTP protobuf `ExportTraceServiceRequest`, read straight off the protobuf
 * wire format for the fields the ring keeps (field numbers of opentelemetry/proto/trace/v1):
 * the router carries no protobuf library, and the subset is small. Unknown fields are skipped, as
 * protobuf requires; a malformed body throws, a malformed span is skipped.
 * @throws {TypeError} when the bytes are not valid protobuf.
 */
export function decodeOtlpProtobuf(bytes: Uint8Array): SpanRecord[] {
  const out: SpanRecord[] = [];
  for (const [field, rs] of fields(bytes)) {
    if (field !== 1 || !(rs instanceof Uint8Array)) continue; // resource_spans
    let service = "";
    const scopes: Uint8Array[] = [];
    for (const [f, v] of fields(rs)) {
      if (f === 1 && v instanceof Uint8Array) service = String(attributesOf(v, 1)["service.name"] ?? ""); // resource.attributes
      else if (f === 2 && v instanceof Uint8Array) scopes.push(v); // scope_spans
    }
    for (const scope of scopes) {
      for (const [f, v] of fields(scope)) {
        if (f !== 2 || !(v instanceof Uint8Array)) continue; // spans
        if (out.length >= MAX_SPANS_PER_EXPORT) return out;
        const span = spanOf(v, service);
        if (span !== undefined) out.push(span);
      }
    }
  }
  return out;
}

type Value = number | Uint8Array;

function spanOf(bytes: Uint8Array, service: string): SpanRecord | undefined {
  let traceId = "", spanId = "", parentSpanId = "", name = "", statusMessage = "";
  let kind = 0, start = 0, end = 0, statusCode = 0;
  const attributes: Record<string, SpanValue> = {};
  const events: SpanEvent[] = [];
  for (const [f, v] of fields(bytes)) {
    if (v instanceof Uint8Array) {
      if (f === 1) traceId = hex(v);
      else if (f === 2) spanId = hex(v);
      else if (f === 4) parentSpanId = hex(v);
      else if (f === 5) name = text(v);
      else if (f === 9) addKeyValue(attributes, v);
      else if (f === 11 && events.length < MAX_SPAN_EVENTS) events.push(eventOf(v));
      else if (f === 15) {
        for (const [sf, sv] of fields(v)) {
          if (sf === 2 && sv instanceof Uint8Array) statusMessage = text(sv);
          else if (sf === 3 && typeof sv === "number") statusCode = sv;
        }
      }
    } else if (f === 6) kind = v;
    else if (f === 7) start = v;
    else if (f === 8) end = v;
  }
  if (!validIds(traceId, spanId, parentSpanId)) return undefined;
  return {
    traceId,
    spanId,
    parentSpanId,
    service: clip(service),
    name: clip(name),
    kind: kindFromOtlp(kind),
    startMs: start / 1e6,
    durationMs: Math.max(0, (end - start) / 1e6),
    status: statusFromOtlp(statusCode),
    statusMessage: clip(statusMessage),
    attributes,
    events,
  };
}

function eventOf(bytes: Uint8Array): SpanEvent {
  let atMs = 0, name = "";
  const attributes: Record<string, SpanValue> = {};
  for (const [f, v] of fields(bytes)) {
    if (f === 1 && typeof v === "number") atMs = v / 1e6;
    else if (f === 2 && v instanceof Uint8Array) name = clip(text(v));
    else if (f === 3 && v instanceof Uint8Array) addKeyValue(attributes, v);
  }
  return { name, atMs, attributes };
}

/** The `KeyValue`s in field `field` of a message. */
function attributesOf(bytes: Uint8Array, field: number): Record<string, SpanValue> {
  const out: Record<string, SpanValue> = {};
  for (const [f, v] of fields(bytes)) if (f === field && v instanceof Uint8Array) addKeyValue(out, v);
  return out;
}

function addKeyValue(into: Record<string, SpanValue>, bytes: Uint8Array): void {
  let key: string | undefined;
  let value: SpanValue | undefined;
  for (const [f, v] of fields(bytes)) {
    if (f === 1 && v instanceof Uint8Array) key = text(v);
    else if (f === 2 && v instanceof Uint8Array) value = anyValue(v);
  }
  if (key !== undefined) putAttribute(into, key, value);
}

/** An `AnyValue`: string 1, bool 2, int 3, double 4, array 5 (as JSON text). */
function anyValue(bytes: Uint8Array): SpanValue | undefined {
  for (const [f, v] of fields(bytes, true)) {
    if (f === 1 && v instanceof Uint8Array) return text(v);
    if (f === 2 && typeof v === "number") return v !== 0;
    if (f === 3 && typeof v === "number") return v;
    if (f === 4 && v instanceof Uint8Array) {
      return new DataView(v.buffer, v.byteOffset, 8).getFloat64(0, true);
    }
    if (f === 5 && v instanceof Uint8Array) {
      const items: unknown[] = [];
      for (const [af, av] of fields(v)) if (af === 1 && av instanceof Uint8Array) items.push(anyValue(av));
      return spanValue(items);
    }
  }
  return undefined;
}

/**
 * The fields of one message: `[number, value]`, a varint or fixed64 as a number (64-bit values lose
 * precision past 2^53, which nanosecond times of today's dates do by a few hundred ns), a
 * length-delimited field as its bytes. With `rawDouble`, fixed64 fields come as their 8 bytes.
 */
function* fields(bytes: Uint8Array, rawDouble = false): Generator<[number, Value]> {
  let pos = 0;
  const varint = (): number => {
    let result = 0;
    let scale = 1;
    const from = pos;
    for (let i = 0; i < 10; i++) {
      if (pos >= bytes.length) throw new TypeError("truncated varint");
      const b = bytes[pos++]!;
      result += (b & 0x7f) * scale;
      if (b < 0x80) return i < 8 ? result : signed64(bytes.subarray(from, pos));
      scale *= 128;
    }
    throw new TypeError("varint too long");
  };
  const take = (n: number): Uint8Array => {
    if (n < 0 || pos + n > bytes.length) throw new TypeError("truncated field");
    const out = bytes.subarray(pos, pos + n);
    pos += n;
    return out;
  };
  while (pos < bytes.length) {
    const tag = varint();
    const field = Math.floor(tag / 8);
    const wire = tag % 8;
    if (wire === 0) yield [field, varint()];
    else if (wire === 1) {
      const b = take(8);
      const view = new DataView(b.buffer, b.byteOffset, 8);
      yield [field, rawDouble ? b : view.getUint32(0, true) + view.getUint32(4, true) * 4294967296];
    } else if (wire === 2) yield [field, take(varint())];
    else if (wire === 5) {
      const b = take(4);
      yield [field, new DataView(b.buffer, b.byteOffset, 4).getUint32(0, true)];
    } else throw new TypeError(`unsupported wire type ${wire}`);
  }
}

/** A varint of 9 or 10 bytes, read exactly as an int64 (a negative `int_value` takes 10 bytes). */
function signed64(bytes: Uint8Array): number {
  let value = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) value = (value << 7n) | BigInt(bytes[i]! & 0x7f);
  return Number(BigInt.asIntN(64, value));
}

const decoder = new TextDecoder();

function text(bytes: Uint8Array): string {
  return decoder.decode(bytes);
}

function hex(bytes: Uint8Array): string {
  let out = "";
  for (const b of bytes) out += b.toString(16).padStart(2, "0");
  return out;
}
