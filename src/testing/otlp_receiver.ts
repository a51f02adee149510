import { createServer } from "node:http";
import protobuf from "protobufjs";

/**
 * The parts of OTLP's `ExportTraceServiceRequest` a test looks at, with the field names, numbers
 * and types of opentelemetry/proto/trace/v1/trace.proto (and common, resource). Protobuf skips
 * unknown fields, so this subset decodes real exports exactly; `otlp_receiver_test.ts` checks it
 * against what the OpenTelemetry SDK's own protobuf and JSON serializers produce.
 */
const OTLP_TRACE_PROTO = `
syntax = "proto3";
message AnyValue { oneof value { string string_value = 1; bool bool_value = 2; int64 int_value = 3; double double_value = 4; ArrayValue array_value = 5; } }
message ArrayValue { repeated AnyValue values = 1; }
message KeyValue { string key = 1; AnyValue value = 2; }
message Resource { repeated KeyValue attributes = 1; }
message Status { string message = 2; int32 code = 3; }
message Event { fixed64 time_unix_nano = 1; string name = 2; repeated KeyValue attributes = 3; }
message Span {
  bytes trace_id = 1; bytes span_id = 2; bytes parent_span_id = 4; string name = 5; int32 kind = 6;
  fixed64 start_time_unix_nano = 7; fixed64 end_time_unix_nano = 8; repeated KeyValue attributes = 9;
  repeated Event events = 11; Status status = 15;
}
message InstrumentationScope { string name = 1; }
message ScopeSpans { InstrumentationScope scope = 1; repeated Span spans = 2; }
message ResourceSpans { Resource resource = 1; repeated ScopeSpans scope_spans = 2; }
message ExportTraceServiceRequest { repeated ResourceSpans resource_spans = 1; }
`;

/** OTLP span kinds. */
export const SpanKind = { INTERNAL: 1, SERVER: 2, CLIENT: 3, PRODUCER: 4, CONSUMER: 5 } as const;

/** A decoded span, ids as lowercase hex. */
export interface ReceivedSpan {
  service: string;
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
  kind: number;
  /** 0 unset, 1 ok, 2 error. */
  statusCode: number;
  statusMessage: string;
  attributes: Record<string, string | number | boolean>;
  /** Event names, in order. */
  events: string[];
  eventAttributes: Record<string, string | number | boolean>[];
  /** Nanoseconds since the epoch. */
  startNs: number;
  endNs: number;
}

/** A real OTLP/HTTP trace receiver on loopback (protobuf or JSON bodies). */
export interface OtlpReceiver extends AsyncDisposable {
  /** Base URL for `OTEL_EXPORTER_OTLP_ENDPOINT`. */
  readonly url: string;
  readonly spans: ReceivedSpan[];
  /** Export requests received. */
  readonly exports: number;
  /** The resource attributes of each export's resources, in order (array values as string lists). */
  readonly resources: ResourceAttributes[];
  /** Of those, the ones in OTLP/JSON. */
  readonly jsonExports: number;
  /** The spans of one trace. */
  trace(traceId: string): ReceivedSpan[];
  close(): Promise<void>;
}

const root = protobuf.parse(OTLP_TRACE_PROTO, { keepCase: false }).root;
const Request = root.lookupType("ExportTraceServiceRequest");

/** Starts a receiver for `POST /v1/traces` with `application/x-protobuf` or `application/json` bodies. */
export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const spans: ReceivedSpan[] = [];
  const resources: ResourceAttributes[] = [];
  let exports = 0;
  let jsonExports = 0;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const type = String(req.headers["content-type"]);
      const body = new Uint8Array(Buffer.concat(chunks));
      try {
        if (req.url !== "/v1/traces") {
          res.writeHead(404).end();
        } else if (type.includes("protobuf")) {
          spans.push(...decodeTraces(body));
          resources.push(...decodeResources(body));
          exports++;
          res.writeHead(200, { "content-type": "application/x-protobuf" }).end();
        } else if (type.includes("json")) {
          const msg = JSON.parse(new TextDecoder().decode(body));
          spans.push(...decodeJsonTraces(msg));
          resources.push(...(msg.resourceSpans ?? []).map((rs: { resource?: { attributes?: Kv[] } }) => resourceAttrs(rs.resource?.attributes ?? [])));
          exports++;
          jsonExports++;
          res.writeHead(200, { "content-type": "application/json" }).end("{}");
        } else {
          res.writeHead(415).end();
        }
      } catch {
        res.writeHead(400).end();
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  const close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return {
    url: `http://127.0.0.1:${port}`,
    spans,
    resources,
    get exports() {
      return exports;
    },
    get jsonExports() {
      return jsonExports;
    },
    trace: (traceId) => spans.filter((s) => s.traceId === traceId),
    close,
    [Symbol.asyncDispose]: close,
  };
}

/** Resource attributes; array values (`process.command_args`) as lists of strings. */
export type ResourceAttributes = Record<string, string | number | boolean | string[]>;

/** The resource attributes of each `ResourceSpans` of an `ExportTraceServiceRequest`. */
export function decodeResources(bytes: Uint8Array): ResourceAttributes[] {
  const msg = Request.toObject(Request.decode(bytes), { longs: Number, bytes: Array, defaults: true }) as {
    resourceSpans: { resource?: { attributes: Kv[] } }[];
  };
  return msg.resourceSpans.map((rs) => resourceAttrs(rs.resource?.attributes ?? []));
}

/** Decodes an `ExportTraceServiceRequest`. */
export function decodeTraces(bytes: Uint8Array): ReceivedSpan[] {
  const msg = Request.toObject(Request.decode(bytes), { longs: Number, bytes: Array, defaults: true }) as {
    resourceSpans: { resource?: { attributes: Kv[] }; scopeSpans: { spans: RawSpan[] }[] }[];
  };
  return msg.resourceSpans.flatMap((rs) => {
    const service = String(attrs(rs.resource?.attributes ?? [])["service.name"] ?? "");
    return rs.scopeSpans.flatMap((ss) =>
      ss.spans.map((s) => ({
        service,
        traceId: hex(s.traceId),
        spanId: hex(s.spanId),
        parentSpanId: hex(s.parentSpanId),
        name: s.name,
        kind: s.kind,
        statusCode: s.status?.code ?? 0,
        statusMessage: s.status?.message ?? "",
        attributes: attrs(s.attributes),
        events: s.events.map((e) => e.name),
        eventAttributes: s.events.map((e) => attrs(e.attributes)),
        startNs: s.startTimeUnixNano,
        endNs: s.endTimeUnixNano,
      }))
    );
  });
}

/** Decodes an `ExportTraceServiceRequest` in the OTLP/JSON mapping (hex ids, camelCase fields). */
export function decodeJsonTraces(msg: {
  resourceSpans?: { resource?: { attributes?: Kv[] }; scopeSpans?: { spans?: JsonSpan[] }[] }[];
}): ReceivedSpan[] {
  return (msg.resourceSpans ?? []).flatMap((rs) => {
    const service = String(attrs(rs.resource?.attributes ?? [])["service.name"] ?? "");
    return (rs.scopeSpans ?? []).flatMap((ss) =>
      (ss.spans ?? []).map((s) => ({
        service,
        traceId: s.traceId,
        spanId: s.spanId,
        parentSpanId: s.parentSpanId ?? "",
        name: s.name,
        kind: s.kind ?? 0,
        statusCode: s.status?.code ?? 0,
        statusMessage: s.status?.message ?? "",
        attributes: attrs(s.attributes ?? []),
        events: (s.events ?? []).map((e) => e.name),
        eventAttributes: (s.events ?? []).map((e) => attrs(e.attributes ?? [])),
        startNs: Number(s.startTimeUnixNano),
        endNs: Number(s.endTimeUnixNano),
      }))
    );
  });
}

interface JsonSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind?: number;
  startTimeUnixNano: string | number;
  endTimeUnixNano: string | number;
  status?: { code?: number; message?: string };
  attributes?: Kv[];
  events?: { name: string; attributes?: Kv[] }[];
}

interface Kv {
  key: string;
  value?: AnyValue;
}
interface AnyValue {
  stringValue?: string;
  boolValue?: boolean;
  intValue?: number | string;
  doubleValue?: number;
  arrayValue?: { values?: AnyValue[] };
}
interface RawSpan {
  traceId: number[];
  spanId: number[];
  parentSpanId: number[];
  name: string;
  kind: number;
  startTimeUnixNano: number;
  endTimeUnixNano: number;
  status?: { code: number; message?: string };
  attributes: Kv[];
  events: { name: string; attributes: Kv[] }[];
}

function attrs(list: Kv[]): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {};
  for (const { key, value } of list) {
    const v = value?.stringValue ?? value?.intValue ?? value?.doubleValue ?? value?.boolValue;
    if (v !== undefined) out[key] = value?.intValue !== undefined ? Number(v) : v;
  }
  return out;
}

function resourceAttrs(list: Kv[]): ResourceAttributes {
  const out: ResourceAttributes = attrs(list);
  for (const { key, value } of list) {
    if (value?.arrayValue !== undefined) out[key] = (value.arrayValue.values ?? []).map((item) => String(item.stringValue ?? item.intValue ?? item.doubleValue ?? item.boolValue ?? ""));
  }
  return out;
}

function hex(bytes: number[]): string {
  return bytes.map((b) => b.toString(16).padStart(2, "0")).join("");
}
