/**
 * Starts the lean tracer (lean_tracer.ts) as the process's OpenTelemetry tracer provider, set up from
 * the `OTEL_*` variables as `@opentelemetry/sdk-node` would set up its own: the same resource (its
 * detectors), sampler, span limits, propagators and context manager. Only the CLI loads this file.
 * @module
 */
import { context, diag, propagation, trace } from "@opentelemetry/api";
import type { TextMapPropagator } from "@opentelemetry/api";
import type { ResourceDetector } from "@opentelemetry/resources";
import { LeanTracerProvider } from "./lean_tracer.ts";
import { spanLimitsFromEnv } from "./span_attributes.ts";
import type { SpanExportProcessor } from "./span_export_processor.ts";
import { samplerFromEnv } from "./span_sampler.ts";
import type { SpanSampler } from "./span_sampler.ts";

type Env = Readonly<Record<string, string | undefined>>;

/** Options of {@linkcode startLeanTracing}. */
export interface LeanTracingOptions {
  env: Env;
  /** `service.name`, unless `OTEL_SERVICE_NAME` says otherwise. */
  serviceName: string;
  resourceDetectors: ResourceDetector[];
  processor: SpanExportProcessor;
  /** Register the AsyncLocalStorage context manager (see `TelemetryOptions.activeContext`). */
  activeContext: boolean;
}

/** The provider, registered globally, and the sampler it uses. */
export interface LeanTracing {
  readonly provider: LeanTracerProvider;
  readonly sampler: SpanSampler;
}

/** Builds the provider, registers it (and the context manager and propagator) with `@opentelemetry/api`. */
export async function startLeanTracing(options: LeanTracingOptions): Promise<LeanTracing> {
  const { env } = options;
  const [{ defaultResource, detectResources, resourceFromAttributes }, { AsyncLocalStorageContextManager }] = await Promise.all([
    import("@opentelemetry/resources"),
    import("@opentelemetry/context-async-hooks"),
  ]);
  // As NodeSDK.start(): the default resource, what the detectors find, then the service name.
  const resource = defaultResource()
    .merge(detectResources({ detectors: options.resourceDetectors }))
    .merge(resourceFromAttributes({ "service.name": env.OTEL_SERVICE_NAME?.trim() || options.serviceName }));
  const sampler = samplerFromEnv(env);
  const provider = new LeanTracerProvider({ processor: options.processor, resource, sampler, limits: spanLimitsFromEnv(env) });
  if (options.activeContext) context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  const propagator = await propagatorFromEnv(env);
  if (propagator !== null) propagation.setGlobalPropagator(propagator);
  trace.setGlobalTracerProvider(provider);
  return { provider, sampler };
}

/**
 * The propagator `OTEL_PROPAGATORS` asks for (`tracecontext,baggage` when unset; `none` or nothing
 * known: `null`), as the SDK picks it: `tracecontext`, `baggage`, `b3`, `b3multi`.
 */
async function propagatorFromEnv(env: Env): Promise<TextMapPropagator | null> {
  const { CompositePropagator, W3CBaggagePropagator, W3CTraceContextPropagator } = await import("@opentelemetry/core");
  const names = env.OTEL_PROPAGATORS?.split(",").map((s) => s.trim()).filter((s) => s !== "");
  if (names === undefined || names.length === 0) {
    return new CompositePropagator({ propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator()] });
  }
  if (names.includes("none")) return null;
  const unique = [...new Set(names)];
  const found: TextMapPropagator[] = [];
  for (const name of unique) {
    if (name === "tracecontext") found.push(new W3CTraceContextPropagator());
    else if (name === "baggage") found.push(new W3CBaggagePropagator());
    else if (name === "b3" || name === "b3multi") {
      const { B3InjectEncoding, B3Propagator } = await import("@opentelemetry/propagator-b3");
      found.push(new B3Propagator(name === "b3multi" ? { injectEncoding: B3InjectEncoding.MULTI_HEADER } : {}));
    } else diag.warn(`Propagator "${name}" requested through environment variable is unavailable.`);
  }
  if (found.length === 0) return null;
  return unique.length === 1 ? found[0]! : new CompositePropagator({ propagators: found });
}
