/**
 * OTLP protobuf encoding of finished spans (opentelemetry/proto/trace/v1/trace.proto), written
 * field for field in the order the OpenTelemetry SDK's serializer uses, so the bytes are the same as
 * `ProtobufTraceSerializer.serializeRequest()` makes from the same spans (a unit test compares them).
 * @module
 */
import type { AttributeValue, Attributes, HrTime, Link, SpanContext } from "@opentelemetry/api";
import type { ReadableSpan, TimedEvent } from "@opentelemetry/sdk-trace";
import { ProtoWriter } from "./proto_writer.ts";

/** What an instrumentation scope is encoded from (the SDK's `InstrumentationScope`). */
export interface ScopeLike {
  readonly name: string;
  readonly version?: string | undefined;
  readonly schemaUrl?: string | undefined;
  readonly attributes?: Attributes | undefined;
  readonly droppedAttributesCount?: number | undefined;
}

/** What a resource is encoded from (the SDK's `Resource`, its attributes settled). */
export interface ResourceLike {
  readonly attributes: Attributes;
  readonly schemaUrl?: string | undefined;
}

const HAS_IS_REMOTE = 0x100;
const IS_REMOTE = 0x200;
const MIN_INT64 = -(2 ** 63);
const MAX_INT64 = 2 ** 63;
const hasOwn = Object.prototype.hasOwnProperty;

/** Writes one span as a `ScopeSpans.spans` entry (field 2, length-prefixed). */
export function writeSpan(w: ProtoWriter, span: ReadableSpan): void {
  w.tag(2, 2);
  const mark = w.open(2);
  const ctx = span.spanContext();
  writeIds(w, ctx);
  const parent = span.parentSpanContext;
  if (parent?.spanId) {
    w.tag(4, 2);
    w.hex(parent.spanId);
  }
  w.tag(5, 2);
  w.string(span.name);
  // OTLP numbers kinds from 1 (SpanKind.INTERNAL is 0 in the API).
  if (span.kind != null) {
    w.tag(6, 0);
    w.varint32(span.kind + 1);
  }
  w.tag(7, 1);
  writeTime(w, span.startTime);
  w.tag(8, 1);
  writeTime(w, span.endTime);
  writeAttributes(w, span.attributes, 9);
  w.tag(10, 0);
  w.varint32(span.droppedAttributesCount);
  const events = span.events;
  for (let i = 0; i < events.length; i++) writeEvent(w, events[i]!);
  w.tag(12, 0);
  w.varint32(span.droppedEventsCount);
  const links = span.links;
  for (let i = 0; i < links.length; i++) writeLink(w, links[i]!);
  w.tag(14, 0);
  w.varint32(span.droppedLinksCount);
  w.tag(15, 2);
  const status = w.open(1);
  if (span.status.message) {
    w.tag(2, 2);
    w.string(span.status.message);
  }
  w.tag(3, 0);
  w.varint32(span.status.code);
  w.close(status);
  w.tag(16, 5);
  w.fixed32(flags(ctx, parent?.isRemote));
  w.close(mark);
}

/** A span's or link's `flags` field: the trace flags, and whether the parent (or linked span) is remote. */
export function flags(ctx: SpanContext, isRemote: boolean | undefined): number {
  return (ctx.traceFlags & 0xff) | HAS_IS_REMOTE | (isRemote ? IS_REMOTE : 0);
}

function writeEvent(w: ProtoWriter, event: TimedEvent): void {
  w.tag(11, 2);
  const mark = w.open(1);
  w.tag(1, 1);
  writeTime(w, event.time);
  w.tag(2, 2);
  w.string(event.name);
  if (event.attributes) writeAttributes(w, event.attributes, 3);
  w.tag(4, 0);
  w.varint32(event.droppedAttributesCount || 0);
  w.close(mark);
}

function writeLink(w: ProtoWriter, link: Link & { droppedAttributesCount?: number }): void {
  w.tag(13, 2);
  const mark = w.open(1);
  const ctx = link.context;
  writeIds(w, ctx);
  if (link.attributes) writeAttributes(w, link.attributes, 4);
  w.tag(5, 0);
  w.varint32(link.droppedAttributesCount || 0);
  w.tag(6, 5);
  w.fixed32(flags(ctx, ctx.isRemote));
  w.close(mark);
}

/** A span's or a link's trace id, span id and trace state (fields 1, 2 and 3 of both messages). */
export function writeIds(w: ProtoWriter, ctx: SpanContext): void {
  w.tag(1, 2);
  w.hex(ctx.traceId);
  w.tag(2, 2);
  w.hex(ctx.spanId);
  const traceState = ctx.traceState?.serialize();
  if (traceState) {
    w.tag(3, 2);
    w.string(traceState);
  }
}

/** HrTime `[seconds, nanos]` as fixed64 nanoseconds, exact beyond 2^53 (the SDK's arithmetic). */
function writeTime(w: ProtoWriter, time: HrTime): void {
  writeTimeParts(w, time[0], time[1]);
}

/** `seconds` and `nanos` (below 1e9) as fixed64 nanoseconds, as {@linkcode writeTime}. */
export function writeTimeParts(w: ProtoWriter, seconds: number, nanos: number): void {
  const lowSeconds = seconds & 0xffff;
  const highSeconds = (seconds / 65536) >>> 0;
  const fromLow = lowSeconds * 1e9;
  const fromHigh = highSeconds * 1e9;
  const low32 = (fromLow >>> 0) + ((((fromHigh & 0xffff) * 65536) >>> 0)) + nanos;
  const high = (Math.floor(fromLow / 4294967296) + ((fromHigh / 65536) >>> 0) + Math.floor(low32 / 4294967296)) >>> 0;
  w.fixed64(low32 >>> 0, high);
}

/** Attributes as repeated `KeyValue` in field `field`. */
export function writeAttributes(w: ProtoWriter, attributes: Attributes, field: number): void {
  for (const key in attributes) {
    if (hasOwn.call(attributes, key)) writeKeyValue(w, key, attributes[key], field);
  }
}

/** One attribute as a `KeyValue` in field `field`. */
export function writeKeyValue(w: ProtoWriter, key: string, value: unknown, field: number): void {
  // Most attributes are short ASCII strings and small integers: written in one go.
  if (typeof value === "string" ? w.asciiKeyValue(field, key, value) : typeof value === "number" && (value >>> 0) === value && value < 268435456 && w.asciiKeyInt(field, key, value)) return;
  w.tag(field, 2);
  const kv = w.open(1);
  w.tag(1, 2);
  w.string(key);
  w.tag(2, 2);
  const inner = w.open(1);
  writeAnyValue(w, value);
  w.close(inner);
  w.close(kv);
}

function writeAnyValue(w: ProtoWriter, value: AttributeValue | unknown): void {
  switch (typeof value) {
    case "string":
      w.tag(1, 2);
      w.string(value);
      return;
    case "boolean":
      w.tag(2, 0);
      w.varint32(value ? 1 : 0);
      return;
    case "number":
      if (Number.isInteger(value) && value >= MIN_INT64 && value < MAX_INT64) {
        w.tag(3, 0);
        w.varint64(value);
      } else {
        w.tag(4, 1);
        w.double(value);
      }
      return;
  }
  if (value instanceof Uint8Array) {
    w.tag(7, 2);
    w.bytes(value);
  } else if (Array.isArray(value)) {
    w.tag(5, 2);
    const array = w.open(1);
    for (const item of value) {
      w.tag(1, 2);
      const entry = w.open(1);
      writeAnyValue(w, item);
      w.close(entry);
    }
    w.close(array);
  } else if (typeof value === "object" && value !== null) {
    w.tag(6, 2);
    const list = w.open(1);
    const obj = value as Record<string, unknown>;
    for (const k in obj) {
      if (!hasOwn.call(obj, k)) continue;
      w.tag(1, 2);
      const kv = w.open(1);
      w.tag(1, 2);
      w.string(k);
      w.tag(2, 2);
      const inner = w.open(1);
      writeAnyValue(w, obj[k]);
      w.close(inner);
      w.close(kv);
    }
    w.close(list);
  }
}

/** The `Resource` message's body (its attributes and a zero dropped count). */
export function encodeResource(resource: ResourceLike): Uint8Array {
  const w = new ProtoWriter(1024);
  writeAttributes(w, resource.attributes, 1);
  w.tag(2, 0);
  w.varint32(0);
  return w.take(0);
}

/** The `InstrumentationScope` message's body. */
export function encodeScope(scope: ScopeLike): Uint8Array {
  const w = new ProtoWriter(256);
  w.tag(1, 2);
  w.string(scope.name);
  if (scope.version) {
    w.tag(2, 2);
    w.string(scope.version);
  }
  if (scope.attributes) writeAttributes(w, scope.attributes, 3);
  if (scope.droppedAttributesCount) {
    w.tag(4, 0);
    w.varint32(scope.droppedAttributesCount);
  }
  return w.take(0);
}

/** One scope's part of a batch: its encoded scope, its spans as written by {@linkcode writeSpan}. */
export interface ScopeBatch {
  scope: Uint8Array;
  schemaUrl: string | undefined;
  spans: Uint8Array;
}

/**
 * An `ExportTraceServiceRequest` with one `ResourceSpans`: the resource, then each scope with its
 * spans, in the order given.
 */
export function encodeExportRequest(resource: Uint8Array, resourceSchemaUrl: string | undefined, scopes: readonly ScopeBatch[]): Uint8Array {
  // Lengths first, so each is written once and nothing is moved (a batch is a few hundred KiB).
  const tail = (url: string | undefined) => url ? 1 + field(utf8Length(url)) : 0;
  const scopeLengths = scopes.map((s) => field(s.scope.length) + 1 + s.spans.length + tail(s.schemaUrl));
  let rsLength = 1 + field(resource.length) + tail(resourceSchemaUrl);
  for (const n of scopeLengths) rsLength += 1 + field(n);
  const w = new ProtoWriter(1 + field(rsLength));
  w.tag(1, 2);
  w.varint32(rsLength);
  w.tag(1, 2);
  w.bytes(resource);
  scopes.forEach((s, i) => {
    w.tag(2, 2);
    w.varint32(scopeLengths[i]!);
    w.tag(1, 2);
    w.bytes(s.scope);
    w.buf.set(s.spans, w.pos);
    w.pos += s.spans.length;
    if (s.schemaUrl) {
      w.tag(3, 2);
      w.string(s.schemaUrl);
    }
  });
  if (resourceSchemaUrl) {
    w.tag(3, 2);
    w.string(resourceSchemaUrl);
  }
  return w.buf.subarray(0, w.pos);
}

/** The size of a length-delimited field's length varint plus its `n` bytes. */
function field(n: number): number {
  return (n < 128 ? 1 : n < 16384 ? 2 : n < 2097152 ? 3 : n < 268435456 ? 4 : 5) + n;
}

function utf8Length(s: string): number {
  return new TextEncoder().encode(s).length;
}
