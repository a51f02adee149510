import { createServer } from "node:http";
import protobuf from "protobufjs";

/**
 * The parts of OTLP's `ExportTraceServiceRequest` a test looks at, with the field numbers of
 * opentelemetry/proto/trace/v1/trace.proto. Protobuf skips unknown fields, so a subset decodes
 * real exports exactly.
 */
const OTLP_TRACE_PROTO = `
syntax = "proto3";
message AnyValue { oneof value { string string_value = 1; bool bool_value = 2; int64 int_value = 3; double double_value = 4; } }
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
  attributes: Record<string, string | number | boolean>;
  events: string[];
}

/** A real OTLP/HTTP (protobuf) trace receiver on loopback. */
export interface OtlpReceiver extends AsyncDisposable {
  /** Base URL for `OTEL_EXPORTER_OTLP_ENDPOINT`. */
  readonly url: string;
  readonly spans: ReceivedSpan[];
  close(): Promise<void>;
}

const root = protobuf.parse(OTLP_TRACE_PROTO, { keepCase: false }).root;
const Request = root.lookupType("ExportTraceServiceRequest");

/** Starts a receiver for `POST /v1/traces` with `application/x-protobuf` bodies. */
export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const spans: ReceivedSpan[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      if (req.url === "/v1/traces" && String(req.headers["content-type"]).includes("protobuf")) {
        spans.push(...decodeTraces(new Uint8Array(Buffer.concat(chunks))));
        res.writeHead(200, { "content-type": "application/x-protobuf" });
      } else {
        res.writeHead(415);
      }
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  const close = () => new Promise<void>((resolve) => server.close(() => resolve()));
  return { url: `http://127.0.0.1:${port}`, spans, close, [Symbol.asyncDispose]: close };
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
        attributes: attrs(s.attributes),
        events: s.events.map((e) => e.name),
      }))
    );
  });
}

interface Kv {
  key: string;
  value?: { stringValue?: string; boolValue?: boolean; intValue?: number; doubleValue?: number };
}
interface RawSpan {
  traceId: number[];
  spanId: number[];
  parentSpanId: number[];
  name: string;
  kind: number;
  status?: { code: number };
  attributes: Kv[];
  events: { name: string }[];
}

function attrs(list: Kv[]): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {};
  for (const { key, value } of list) {
    const v = value?.stringValue ?? value?.intValue ?? value?.doubleValue ?? value?.boolValue;
    if (v !== undefined) out[key] = v;
  }
  return out;
}

function hex(bytes: number[]): string {
  return bytes.map((b) => b.toString(16).padStart(2, "0")).join("");
}
