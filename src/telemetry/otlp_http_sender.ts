/**
 * Sends encoded OTLP trace requests with the OpenTelemetry SDK's own OTLP/HTTP transport, the one
 * its `OTLPTraceExporter` uses: endpoint, headers, timeout, compression and TLS files come from the
 * same `OTEL_EXPORTER_OTLP_*` variables, and failed exports are retried the same way (up to five
 * times with backoff on 429, 502, 503, 504 and connection errors), then dropped.
 * @module
 */
import { convertLegacyHttpOptions, createOtlpHttpExportDelegate } from "@opentelemetry/otlp-exporter-base/node-http";
import { JsonTraceSerializer, ProtobufTraceSerializer } from "@opentelemetry/otlp-transformer";
import { otlpProtobufToJson } from "./otlp_proto_to_json.ts";

/** One encoded `ExportTraceServiceRequest` and how many spans it holds. */
export interface EncodedBatch {
  readonly body: Uint8Array;
  readonly count: number;
}

/** What became of one batch: `undefined` when the collector took it, else why not. */
export type BatchOutcome = string | undefined;

/** Sends encoded batches to the collector. */
export interface BatchSender {
  /** Sends `batch`; `done` is called exactly once, when the export succeeded or was given up. */
  send(batch: EncodedBatch, done: (outcome: BatchOutcome) => void): void;
  /** Resolves when every batch handed over so far is settled. */
  forceFlush(): Promise<void>;
  /** Flushes, then closes the transport. */
  shutdown(): Promise<void>;
}

/** The OTLP/HTTP encodings a {@linkcode BatchSender} can send (batches are always encoded as protobuf). */
export type OtlpHttpProtocol = "http/protobuf" | "http/json";

/** The SDK's component type for an OTLP/HTTP span exporter (its self-metrics name it so). */
const COMPONENT_TYPE = "otlp_http_span_exporter";

/**
 * A sender over the SDK's OTLP/HTTP export delegate, configured from `process.env` exactly as the
 * SDK's `OTLPTraceExporter` for `protocol` is. Batches arrive encoded as protobuf: for
 * `http/protobuf` the delegate's serializer passes them through, for `http/json` it turns them into
 * the SDK's OTLP/JSON.
 */
export function createOtlpHttpSender(protocol: OtlpHttpProtocol = "http/protobuf"): BatchSender {
  const json = protocol === "http/json";
  const delegate = createOtlpHttpExportDelegate(
    convertLegacyHttpOptions({}, "TRACES", "v1/traces", { "Content-Type": json ? "application/json" : "application/x-protobuf" }),
    // The collector's answer is read as the SDK reads it: a partial success is logged.
    json
      ? { serializeRequest: (batch: EncodedBatch) => otlpProtobufToJson(batch.body), deserializeResponse: JsonTraceSerializer.deserializeResponse }
      : { serializeRequest: (batch: EncodedBatch) => batch.body, deserializeResponse: ProtobufTraceSerializer.deserializeResponse },
    COMPONENT_TYPE,
    { name: "span", countItems: (batch) => batch.count },
    undefined,
  );
  return {
    send(batch, done) {
      delegate.export(batch, (result) => done(result.error === undefined && result.code === 0 ? undefined : describe(result.error)));
    },
    forceFlush: () => delegate.forceFlush(),
    shutdown: () => delegate.shutdown(),
  };
}

function describe(error: unknown): string {
  if (error instanceof Error) return error.message;
  return error === undefined ? "export failed" : String(error);
}
