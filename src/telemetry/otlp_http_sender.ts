/**
 * Sends encoded OTLP trace requests with the OpenTelemetry SDK's own OTLP/HTTP transport, the one
 * its `OTLPTraceExporter` uses: endpoint, headers, timeout, compression and TLS files come from the
 * same `OTEL_EXPORTER_OTLP_*` variables, and failed exports are retried the same way (up to five
 * times with backoff on 429, 502, 503, 504 and connection errors), then dropped.
 * @module
 */
import { convertLegacyHttpOptions, createOtlpHttpExportDelegate } from "@opentelemetry/otlp-exporter-base/node-http";
import { ProtobufTraceSerializer } from "@opentelemetry/otlp-transformer";

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

/** The OTLP/HTTP protobuf media type. */
export const PROTOBUF_CONTENT_TYPE = "application/x-protobuf";

/** The SDK's component type for an OTLP/HTTP span exporter (its self-metrics name it so). */
const COMPONENT_TYPE = "otlp_http_span_exporter";

/**
 * A sender over the SDK's OTLP/HTTP export delegate, configured from `process.env` exactly as
 * `OTLPTraceExporter` from `@opentelemetry/exporter-trace-otlp-proto` is. The batch is already
 * encoded, so the delegate's serializer passes it through.
 */
export function createOtlpHttpSender(): BatchSender {
  const delegate = createOtlpHttpExportDelegate(
    convertLegacyHttpOptions({}, "TRACES", "v1/traces", { "Content-Type": PROTOBUF_CONTENT_TYPE }),
    // The response is read as the SDK reads it: a partial success is logged.
    { serializeRequest: (batch: EncodedBatch) => batch.body, deserializeResponse: ProtobufTraceSerializer.deserializeResponse },
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
