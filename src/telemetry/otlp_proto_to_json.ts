/**
 * OTLP/JSON from the OTLP protobuf {@linkcode SpanExportProcessor} writes: the export worker turns
 * each batch into the JSON the SDK's `JsonTraceSerializer` makes from the same spans (hex ids,
 * nanosecond timestamps as decimal strings, 64-bit integers as numbers, bytes as base64), so
 * `OTEL_EXPORTER_OTLP_PROTOCOL=http/json` costs the request path no more than protobuf.
 * Only the fields `otlp_proto.ts` writes are read; others are skipped.
 * @module
 */

type Json = Record<string, unknown>;

/** Reads protobuf fields one after another from a byte range. */
class ProtoReader {
  readonly #buf: Uint8Array;
  pos: number;
  readonly end: number;

  constructor(buf: Uint8Array, start = 0, end = buf.length) {
    this.#buf = buf;
    this.pos = start;
    this.end = end;
  }

  get more(): boolean {
    return this.pos < this.end;
  }

  /** The next field key: `[field number, wire type]`. */
  key(): [number, number] {
    const k = this.varint();
    return [Math.floor(k / 8), k & 7];
  }

  /** An unsigned varint as a number (exact below 2^53). */
  varint(): number {
    let result = 0;
    let scale = 1;
    for (;;) {
      const b = this.#buf[this.pos++]!;
      result += (b & 127) * scale;
      if (b < 128) return result;
      scale *= 128;
    }
  }

  /** A varint as a signed 64-bit integer (two's complement), as the nearest number. */
  int64(): number {
    let low = 0;
    let high = 0;
    let shift = 0;
    for (;;) {
      const b = this.#buf[this.pos++]!;
      if (shift < 28) low |= (b & 127) << shift;
      else if (shift === 28) {
        low |= (b & 15) << 28;
        high |= (b & 127) >>> 4;
      } else high |= (b & 127) << (shift - 32);
      shift += 7;
      if (b < 128) break;
    }
    low >>>= 0;
    if (high & 0x80000000) {
      // negative: -(~value + 1)
      const nl = (~low + 1) >>> 0;
      const nh = (~high + (nl === 0 ? 1 : 0)) >>> 0;
      return -(nh * 4294967296 + nl);
    }
    return (high >>> 0) * 4294967296 + low;
  }

  fixed32(): number {
    const b = this.#buf;
    const p = this.pos;
    this.pos += 4;
    return (b[p]! | (b[p + 1]! << 8) | (b[p + 2]! << 16) | (b[p + 3]! << 24)) >>> 0;
  }

  /** A fixed64 as a decimal string (timestamps in nanoseconds). */
  fixed64String(): string {
    const low = this.fixed32();
    const high = this.fixed32();
    return ((BigInt(high) << 32n) | BigInt(low)).toString();
  }

  double(): number {
    const v = new DataView(this.#buf.buffer, this.#buf.byteOffset + this.pos, 8).getFloat64(0, true);
    this.pos += 8;
    return v;
  }

  /** A length-delimited field: a reader over its bytes (this one moves past them). */
  sub(): ProtoReader {
    const n = this.varint();
    const r = new ProtoReader(this.#buf, this.pos, this.pos + n);
    this.pos += n;
    return r;
  }

  string(): string {
    const r = this.sub();
    return decoder.decode(this.#buf.subarray(r.pos, r.end));
  }

  hex(): string {
    const r = this.sub();
    let s = "";
    for (let i = r.pos; i < r.end; i++) s += HEX[this.#buf[i]!];
    return s;
  }

  bytes(): Uint8Array {
    const r = this.sub();
    return this.#buf.subarray(r.pos, r.end);
  }

  skip(wire: number): void {
    if (wire === 0) this.varint();
    else if (wire === 1) this.pos += 8;
    else if (wire === 2) this.pos += this.varint();
    else if (wire === 5) this.pos += 4;
    else throw new RangeError(`unsupported protobuf wire type ${wire}`);
  }
}

const decoder = new TextDecoder();
const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));

/** An `ExportTraceServiceRequest` (protobuf) as OTLP/JSON bytes. */
export function otlpProtobufToJson(body: Uint8Array): Uint8Array {
  const r = new ProtoReader(body);
  const resourceSpans: Json[] = [];
  while (r.more) {
    const [field, wire] = r.key();
    if (field === 1 && wire === 2) resourceSpans.push(readResourceSpans(r.sub()));
    else r.skip(wire);
  }
  return new TextEncoder().encode(JSON.stringify({ resourceSpans }));
}

function readResourceSpans(r: ProtoReader): Json {
  let resource: Json = { attributes: [], droppedAttributesCount: 0 };
  const scopeSpans: Json[] = [];
  let schemaUrl: string | undefined;
  while (r.more) {
    const [field, wire] = r.key();
    if (field === 1 && wire === 2) resource = readResource(r.sub());
    else if (field === 2 && wire === 2) scopeSpans.push(readScopeSpans(r.sub()));
    else if (field === 3 && wire === 2) schemaUrl = r.string();
    else r.skip(wire);
  }
  if (schemaUrl) resource.schemaUrl = schemaUrl;
  return { resource, scopeSpans, schemaUrl: resource.schemaUrl };
}

function readResource(r: ProtoReader): Json {
  const attributes: Json[] = [];
  while (r.more) {
    const [field, wire] = r.key();
    if (field === 1 && wire === 2) attributes.push(readKeyValue(r.sub()));
    else r.skip(wire);
  }
  return { attributes, droppedAttributesCount: 0 };
}

function readScopeSpans(r: ProtoReader): Json {
  const scope: Json = {};
  const spans: Json[] = [];
  let schemaUrl: string | undefined;
  while (r.more) {
    const [field, wire] = r.key();
    if (field === 1 && wire === 2) Object.assign(scope, readScope(r.sub()));
    else if (field === 2 && wire === 2) spans.push(readSpan(r.sub()));
    else if (field === 3 && wire === 2) schemaUrl = r.string();
    else r.skip(wire);
  }
  return { scope, spans, schemaUrl };
}

function readScope(r: ProtoReader): Json {
  let name = "";
  let version: string | undefined;
  const attributes: Json[] = [];
  let dropped = 0;
  while (r.more) {
    const [field, wire] = r.key();
    if (field === 1 && wire === 2) name = r.string();
    else if (field === 2 && wire === 2) version = r.string();
    else if (field === 3 && wire === 2) attributes.push(readKeyValue(r.sub()));
    else if (field === 4 && wire === 0) dropped = r.varint();
    else r.skip(wire);
  }
  return attributes.length > 0 ? { name, version, attributes, droppedAttributesCount: dropped } : { name, version };
}

function readSpan(r: ProtoReader): Json {
  const s: Json = {};
  const attributes: Json[] = [];
  const events: Json[] = [];
  const links: Json[] = [];
  let status: Json = { code: 0 };
  let droppedAttributes = 0;
  let droppedEvents = 0;
  let droppedLinks = 0;
  let flags = 0;
  while (r.more) {
    const [field, wire] = r.key();
    switch (field) {
      case 1:
        s.traceId = r.hex();
        break;
      case 2:
        s.spanId = r.hex();
        break;
      case 3:
        s.traceState = r.string();
        break;
      case 4:
        s.parentSpanId = r.hex();
        break;
      case 5:
        s.name = r.string();
        break;
      case 6:
        s.kind = r.varint();
        break;
      case 7:
        s.startTimeUnixNano = r.fixed64String();
        break;
      case 8:
        s.endTimeUnixNano = r.fixed64String();
        break;
      case 9:
        attributes.push(readKeyValue(r.sub()));
        break;
      case 10:
        droppedAttributes = r.varint();
        break;
      case 11:
        events.push(readEvent(r.sub()));
        break;
      case 12:
        droppedEvents = r.varint();
        break;
      case 13:
        links.push(readLink(r.sub()));
        break;
      case 14:
        droppedLinks = r.varint();
        break;
      case 15:
        status = readStatus(r.sub());
        break;
      case 16:
        flags = r.fixed32();
        break;
      default:
        r.skip(wire);
    }
  }
  // The SDK's field order (JSON readers do not care; people comparing exports might).
  return {
    traceId: s.traceId,
    spanId: s.spanId,
    parentSpanId: s.parentSpanId,
    traceState: s.traceState,
    name: s.name ?? "",
    kind: s.kind ?? 0,
    startTimeUnixNano: s.startTimeUnixNano,
    endTimeUnixNano: s.endTimeUnixNano,
    attributes,
    droppedAttributesCount: droppedAttributes,
    events,
    droppedEventsCount: droppedEvents,
    status,
    links,
    droppedLinksCount: droppedLinks,
    flags,
  };
}

function readEvent(r: ProtoReader): Json {
  const attributes: Json[] = [];
  let name = "";
  let time = "0";
  let dropped = 0;
  while (r.more) {
    const [field, wire] = r.key();
    if (field === 1 && wire === 1) time = r.fixed64String();
    else if (field === 2 && wire === 2) name = r.string();
    else if (field === 3 && wire === 2) attributes.push(readKeyValue(r.sub()));
    else if (field === 4 && wire === 0) dropped = r.varint();
    else r.skip(wire);
  }
  return { attributes, name, timeUnixNano: time, droppedAttributesCount: dropped };
}

function readLink(r: ProtoReader): Json {
  const attributes: Json[] = [];
  let traceId = "";
  let spanId = "";
  let traceState: string | undefined;
  let dropped = 0;
  let flags = 0;
  while (r.more) {
    const [field, wire] = r.key();
    if (field === 1 && wire === 2) traceId = r.hex();
    else if (field === 2 && wire === 2) spanId = r.hex();
    else if (field === 3 && wire === 2) traceState = r.string();
    else if (field === 4 && wire === 2) attributes.push(readKeyValue(r.sub()));
    else if (field === 5 && wire === 0) dropped = r.varint();
    else if (field === 6 && wire === 5) flags = r.fixed32();
    else r.skip(wire);
  }
  return { attributes, spanId, traceId, traceState, droppedAttributesCount: dropped, flags };
}

function readStatus(r: ProtoReader): Json {
  let message: string | undefined;
  let code = 0;
  while (r.more) {
    const [field, wire] = r.key();
    if (field === 2 && wire === 2) message = r.string();
    else if (field === 3 && wire === 0) code = r.varint();
    else r.skip(wire);
  }
  return { code, message };
}

function readKeyValue(r: ProtoReader): Json {
  let key = "";
  let value: Json = {};
  while (r.more) {
    const [field, wire] = r.key();
    if (field === 1 && wire === 2) key = r.string();
    else if (field === 2 && wire === 2) value = readAnyValue(r.sub());
    else r.skip(wire);
  }
  return { key, value };
}

function readAnyValue(r: ProtoReader): Json {
  let value: Json = {};
  while (r.more) {
    const [field, wire] = r.key();
    if (field === 1 && wire === 2) value = { stringValue: r.string() };
    else if (field === 2 && wire === 0) value = { boolValue: r.varint() !== 0 };
    else if (field === 3 && wire === 0) value = { intValue: r.int64() };
    else if (field === 4 && wire === 1) value = { doubleValue: r.double() };
    else if (field === 5 && wire === 2) value = { arrayValue: { values: readValues(r.sub(), readAnyValue) } };
    else if (field === 6 && wire === 2) value = { kvlistValue: { values: readValues(r.sub(), readKeyValue) } };
    else if (field === 7 && wire === 2) value = { bytesValue: base64(r.bytes()) };
    else r.skip(wire);
  }
  return value;
}

/** The repeated field 1 of an `ArrayValue` or `KeyValueList`. */
function readValues(r: ProtoReader, read: (r: ProtoReader) => Json): Json[] {
  const values: Json[] = [];
  while (r.more) {
    const [field, wire] = r.key();
    if (field === 1 && wire === 2) values.push(read(r.sub()));
    else r.skip(wire);
  }
  return values;
}

function base64(bytes: Uint8Array): string {
  let binary = "";
  for (let i = 0; i < bytes.length; i++) binary += String.fromCharCode(bytes[i]!);
  return btoa(binary);
}
