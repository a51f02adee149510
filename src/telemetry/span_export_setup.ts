import { diag } from "@opentelemetry/api";
import type { DiagLogLevel } from "@opentelemetry/api";
import { SpanExportProcessor } from "./span_export_processor.ts";
import type { SpanExportOptions } from "./span_export_processor.ts";
import { WorkerSender } from "./worker_sender.ts";

type Env = Readonly<Record<string, string | undefined>>;

/**
 * The span processor for what the `OTEL_*` variables ask: OTLP over HTTP (the default exporter;
 * `http/protobuf`, the default protocol, or `http/json`) gets a {@linkcode SpanExportProcessor}
 * exporting from a worker thread, batched by the `OTEL_BSP_*` variables. `undefined` for anything
 * else (`grpc`, `zipkin`, `console`, several exporters): the SDK then builds its own tracer and
 * processors from the same variables.
 */
export function createSpanExport(env: Env, logLevel: DiagLogLevel): SpanExportProcessor | undefined {
  const exporters = (env.OTEL_TRACES_EXPORTER ?? "").split(",").map((s) => s.trim()).filter((s) => s !== "" && s !== "null");
  if (exporters.length > 1 || (exporters.length === 1 && exporters[0] !== "otlp")) return undefined;
  const protocol = (env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL ?? env.OTEL_EXPORTER_OTLP_PROTOCOL)?.trim() || "http/protobuf";
  if (protocol !== "http/protobuf" && protocol !== "http/json") return undefined;
  return new SpanExportProcessor(new WorkerSender({ logLevel, protocol }), batchOptions(env));
}

/** `OTEL_BSP_*` as the SDK reads them: a value that is not a positive number means the default. */
function batchOptions(env: Env): SpanExportOptions {
  const positive = (name: string): number | undefined => {
    const raw = env[name]?.trim();
    if (raw === undefined || raw === "") return undefined;
    const n = Number(raw);
    if (Number.isFinite(n) && n > 0) return n;
    diag.warn(`${name} (${raw}) is invalid, expected number greater than 0, using default.`);
    return undefined;
  };
  return {
    maxQueueSize: positive("OTEL_BSP_MAX_QUEUE_SIZE"),
    maxExportBatchSize: positive("OTEL_BSP_MAX_EXPORT_BATCH_SIZE"),
    scheduledDelayMillis: positive("OTEL_BSP_SCHEDULE_DELAY"),
  };
}
