/**
 * Starts the OpenTelemetry SDK for a CLI process. Only the CLI imports this file: library code
 * depends on `@opentelemetry/api` alone (see mod.ts).
 * @module
 */
import { diag, DiagLogLevel, trace } from "@opentelemetry/api";
import type { ContextManager, DiagLogger, Tracer } from "@opentelemetry/api";
import type { ResourceDetector } from "@opentelemetry/resources";
import type { Logger } from "../deps.ts";
import { redactArgs, redactUrl } from "./redact.ts";

type Env = Readonly<Record<string, string | undefined>>;

/** Tracing as the CLI set it up. */
export interface Telemetry {
  /** `undefined` when tracing is off: the hot path then skips spans entirely. */
  readonly tracer: Tracer | undefined;
  /** Flushes pending spans (at most {@linkcode SHUTDOWN_TIMEOUT_MS}) and stops the SDK. */
  shutdown(): Promise<void>;
}

/** Options of {@linkcode startTelemetry}. */
export interface TelemetryOptions {
  /**
   * Register the SDK's AsyncLocalStorage context manager, so code can find the active span (a
   * plugin's own spans nest under its request's). The router passes every context explicitly and
   * runs no user code, so it goes without: an enabled AsyncLocalStorage costs every async step a
   * little (measured on Bun: tens of µs per request). @default true
   */
  activeContext?: boolean;
}

/** How long a shutdown waits for the last spans to reach the collector. */
export const SHUTDOWN_TIMEOUT_MS = 3_000;
/** Export failures are logged at most once in this interval (with a count of the others). */
export const EXPORT_ERROR_LOG_INTERVAL_MS = 60_000;

const OFF: Telemetry = { tracer: undefined, shutdown: () => Promise.resolve() };

/** True when the standard variables ask for trace export (an OTLP endpoint, or an explicit exporter). */
export function tracingRequested(env: Env): boolean {
  if (env.OTEL_SDK_DISABLED?.toLowerCase() === "true") return false;
  const exporter = env.OTEL_TRACES_EXPORTER?.trim();
  if (exporter === "none") return false;
  return Boolean(env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim() || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?.trim() || exporter);
}

/** True on Deno with its built-in OpenTelemetry turned on (`OTEL_DENO=true`). */
function denoOtel(env: Env): boolean {
  return env.OTEL_DENO?.toLowerCase() === "true" && typeof (globalThis as { Deno?: unknown }).Deno !== "undefined";
}

/**
 * Starts `@opentelemetry/sdk-node` when the `OTEL_*` variables ask for traces. Everything comes
 * from the standard variables: endpoint and headers (`OTEL_EXPORTER_OTLP_*`), protocol
 * (`http/protobuf` by default, `http/json` or `grpc`), sampler (`OTEL_TRACES_SAMPLER`, default
 * `parentbased_always_on`), batching (`OTEL_BSP_*`), propagators (`OTEL_PROPAGATORS`, default W3C
 * `tracecontext,baggage`) and `OTEL_SERVICE_NAME` (else `serviceName`). Only traces: metrics are at
 * `/metrics` and logs on stderr, so the SDK's metric and log pipelines stay off.
 *
 * With OTLP over HTTP (`http/protobuf` or `http/json`, the default exporter), spans are made by
 * Switchyard's lean tracer (lean_tracer.ts: the same spans, resource and sampling as the SDK's, at a
 * fraction of the cost), encoded when they end, batched (`OTEL_BSP_*`) and sent from a worker thread;
 * when the collector is slow or gone, the queue (`OTEL_BSP_MAX_QUEUE_SIZE`, 2048) drops what does not
 * fit. Anything else (`grpc`, `zipkin`, `console`) is left to `@opentelemetry/sdk-node` as it comes.
 * Warnings (a failed export, say) go to `logger`, at most once a minute.
 *
 * On Deno with `OTEL_DENO=true`, Deno's built-in OpenTelemetry is the SDK: it registers itself
 * with `@opentelemetry/api`, so no second SDK starts (spans would be exported twice).
 *
 * The SDK is imported only when tracing is on: loading it costs start-up time and memory, and it
 * reads environment variables a Deno sandbox does not grant.
 */
export async function startTelemetry(env: Env, serviceName: string, logger: Logger, options: TelemetryOptions = {}): Promise<Telemetry> {
  // The SDK reads its configuration from process.env itself: a different `env` would disagree with it.
  if (env !== process.env) throw new TypeError("startTelemetry() reads the OTEL_* variables from process.env; pass process.env");
  if (denoOtel(env)) {
    logger.info("tracing through Deno's built-in OpenTelemetry (OTEL_DENO=true)");
    return { tracer: trace.getTracer("switchyard"), shutdown: () => Promise.resolve() };
  }
  if (!tracingRequested(env)) return OFF;
  const { createSpanExport } = await import("./span_export_setup.ts");
  const resourceDetectors = await redactingDetectors(env);
  const logLevel = diagLevel(env.OTEL_LOG_LEVEL);
  diag.setLogger(diagToLogger(logger), { logLevel, suppressOverrideMessage: true });
  const spanExport = createSpanExport(env, logLevel);
  const service = env.OTEL_SERVICE_NAME?.trim() || serviceName;
  const on = {
    endpoint: redactUrl(env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT || env.OTEL_EXPORTER_OTLP_ENDPOINT || "http://localhost:4318"),
    protocol: env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL || env.OTEL_EXPORTER_OTLP_PROTOCOL || "http/protobuf",
    sampler: env.OTEL_TRACES_SAMPLER || "parentbased_always_on",
    service,
  };
  let stop: () => Promise<void>;
  if (spanExport !== undefined) {
    const { startLeanTracing } = await import("./lean_setup.ts");
    const { provider } = await startLeanTracing({ env, serviceName, resourceDetectors, processor: spanExport, activeContext: options.activeContext !== false });
    logger.info("tracing on", { ...on, export: "switchyard tracer, encoded at span end, sent from a worker thread" });
    stop = () => provider.shutdown();
  } else {
    // What the lean tracer's export does not speak (grpc, zipkin, console, several exporters): the SDK.
    const { NodeSDK } = await import("@opentelemetry/sdk-node");
    // The SDK's constructor installs a console logger of its own when OTEL_LOG_LEVEL is set, and warns
    // if one is there already: let it, then put ours back.
    diag.disable();
    const sdk = new NodeSDK({
      resourceDetectors,
      // `null` registers no context manager (the SDK's documented switch; its type says only ContextManager).
      ...(options.activeContext === false ? { contextManager: null as unknown as ContextManager } : {}),
      serviceName: service,
      instrumentations: [],
      metricReaders: [],
      logRecordProcessors: [],
    });
    diag.setLogger(diagToLogger(logger), { logLevel, suppressOverrideMessage: true });
    sdk.start();
    logger.info("tracing on", { ...on, export: "the OpenTelemetry SDK's tracer and exporter" });
    stop = () => sdk.shutdown();
  }
  let stopping: Promise<void> | undefined;
  return {
    tracer: trace.getTracer("switchyard"),
    shutdown: () =>
      stopping ??= (async () => {
        let timer: ReturnType<typeof setTimeout> | undefined;
        await Promise.race([
          stop().catch((err: unknown) => logger.warn("span flush failed", { error: String(err) })),
          new Promise<void>((resolve) => timer = setTimeout(resolve, SHUTDOWN_TIMEOUT_MS)),
        ]);
        clearTimeout(timer);
        diag.disable();
      })(),
  };
}

/** The resource attributes holding the command line (semantic conventions). */
const COMMAND_ATTRIBUTES = ["process.command_args", "process.command_line"] as const;

/**
 * The SDK's resource detectors (as `OTEL_NODE_RESOURCE_DETECTORS` picks them, in the SDK's order),
 * with the process detector's command line redacted: `process.command_args` is `process.argv`, and
 * a `--nats nats://user:pass@host` or `--options '{"apiKey":…}'` would otherwise be exported with
 * every span batch.
 */
async function redactingDetectors(env: Env): Promise<ResourceDetector[]> {
  const { envDetector, hostDetector, osDetector, processDetector, serviceInstanceIdDetector } = await import("@opentelemetry/resources");
  const redactedProcess: ResourceDetector = {
    detect(config) {
      const detected = processDetector.detect(config);
      const attributes = { ...detected.attributes };
      for (const name of COMMAND_ATTRIBUTES) {
        const value = attributes[name];
        if (Array.isArray(value)) attributes[name] = redactArgs(value.map(String));
        else if (typeof value === "string") attributes[name] = redactArgs(value.split(" ")).join(" ");
      }
      return { ...detected, attributes };
    },
  };
  const byName = new Map<string, ResourceDetector>([
    ["host", hostDetector],
    ["os", osDetector],
    ["serviceinstance", serviceInstanceIdDetector],
    ["process", redactedProcess],
    ["env", envDetector],
  ]);
  const listed = env.OTEL_NODE_RESOURCE_DETECTORS?.split(",").map((s) => s.trim()).filter((s) => s !== "");
  if (listed === undefined || listed.length === 0) return [serviceInstanceIdDetector, redactedProcess, hostDetector, osDetector, envDetector];
  if (listed.includes("all")) return [...byName.values()];
  if (listed.includes("none")) return [];
  return listed.flatMap((name) => byName.get(name) ?? []);
}

function diagLevel(value: string | undefined): DiagLogLevel {
  switch (value?.trim().toUpperCase()) {
    case "NONE":
      return DiagLogLevel.NONE;
    case "ERROR":
      return DiagLogLevel.ERROR;
    case "INFO":
      return DiagLogLevel.INFO;
    case "DEBUG":
      return DiagLogLevel.DEBUG;
    case "VERBOSE":
    case "ALL":
      return DiagLogLevel.ALL;
    default:
      return DiagLogLevel.WARN;
  }
}

/** The SDK's diagnostics as log lines; warnings and errors are rate-limited (a dead collector fails every export). */
function diagToLogger(logger: Logger): DiagLogger {
  let lastAt = -Infinity;
  let suppressed = 0;
  const limited = (level: "warn" | "error") => (message: string, ...args: unknown[]) => {
    const now = Date.now();
    if (now - lastAt < EXPORT_ERROR_LOG_INTERVAL_MS) {
      suppressed++;
      return;
    }
    lastAt = now;
    const detail = args.map(describe).join(" ");
    logger[level](`opentelemetry: ${message}`, { ...(detail === "" ? {} : { detail }), ...(suppressed > 0 ? { suppressed } : {}) });
    suppressed = 0;
  };
  const plain = (level: "info" | "debug") => (message: string) => logger[level](`opentelemetry: ${message}`);
  return { error: limited("error"), warn: limited("warn"), info: plain("info"), debug: plain("debug"), verbose: plain("debug") };
}

function describe(value: unknown): string {
  if (value instanceof Error) return value.message;
  if (typeof value === "string") return value;
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}
