import { trace } from "@opentelemetry/api";
import type { Tracer } from "@opentelemetry/api";
import { NodeSDK } from "@opentelemetry/sdk-node";
import type { Logger } from "../deps.ts";

type Env = Record<string, string | undefined>;

/** Tracing as the CLI set it up. */
export interface Telemetry {
  /** `undefined` when tracing is off: the hot path then skips spans entirely. */
  readonly tracer: Tracer | undefined;
  /** Flushes pending spans (bounded in time) and stops the SDK. */
  shutdown(): Promise<void>;
}

/** True when the standard variables ask for trace export. */
export function tracingRequested(env: Env): boolean {
  if (env.OTEL_SDK_DISABLED === "true" || env.OTEL_TRACES_EXPORTER === "none") return false;
  return Boolean(env.OTEL_EXPORTER_OTLP_ENDPOINT || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT || env.OTEL_TRACES_EXPORTER);
}

/**
 * Starts `@opentelemetry/sdk-node` when the `OTEL_*` variables ask for traces: OTLP/HTTP protobuf
 * by default (`OTEL_EXPORTER_OTLP_PROTOCOL` may say `http/json`), a batch processor, the W3C
 * propagator, and the sampler from `OTEL_TRACES_SAMPLER`. Metrics and logs are not exported
 * this way (metrics are at `/metrics`, logs on stderr). Deno's built-in OTel (`OTEL_DENO=true`)
 * is used instead of the SDK when a user turns it on, so spans are never exported twice.
 * Library code only uses `@opentelemetry/api`; this is the one place that installs an SDK.
 */
export function startTelemetry(env: Env, serviceName: string, logger: Logger): Telemetry {
  if (!tracingRequested(env) && env.OTEL_DENO !== "true") return { tracer: undefined, shutdown: () => Promise.resolve() };
  if (env.OTEL_DENO === "true") {
    logger.info("tracing through Deno's built-in OpenTelemetry (OTEL_DENO=true)");
    return { tracer: trace.getTracer("switchyard"), shutdown: () => Promise.resolve() };
  }
  env.OTEL_METRICS_EXPORTER ??= "none";
  env.OTEL_LOGS_EXPORTER ??= "none";
  const sdk = new NodeSDK({ serviceName: env.OTEL_SERVICE_NAME || serviceName, instrumentations: [] });
  sdk.start();
  logger.info("tracing on", {
    endpoint: env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT || env.OTEL_EXPORTER_OTLP_ENDPOINT || "(default)",
    protocol: env.OTEL_EXPORTER_OTLP_PROTOCOL || "http/protobuf",
    sampler: env.OTEL_TRACES_SAMPLER || "parentbased_always_on",
  });
  return {
    tracer: trace.getTracer("switchyard"),
    async shutdown() {
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([
        sdk.shutdown().catch((err: unknown) => logger.warn("span flush failed", { error: err })),
        new Promise<void>((resolve) => timer = setTimeout(resolve, 3_000)),
      ]);
      clearTimeout(timer);
    },
  };
}
