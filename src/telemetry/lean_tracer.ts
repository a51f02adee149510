/**
 * A tracer provider for `@opentelemetry/api` that records sampled spans compactly and encodes each
 * to OTLP protobuf as it ends, straight into a {@linkcode SpanExportProcessor}'s batch: no SDK
 * `Tracer`/`SpanImpl`, no per-attribute `WeakSet`, one clock read per timestamp, pooled random ids.
 * A span the sampler drops is the API's non-recording span, which still carries the trace context.
 * @module
 */
import { context, INVALID_SPAN_CONTEXT, SpanKind, trace, TraceFlags } from "@opentelemetry/api";
import type { Context, Span, SpanContext, SpanOptions, Tracer, TracerOptions, TracerProvider } from "@opentelemetry/api";
import type { ScopeLike } from "./otlp_proto.ts";
import type { SpanExportProcessor, SpanResource } from "./span_export_processor.ts";
import { LeanSpan } from "./lean_span.ts";
import type { TracerShared } from "./lean_span.ts";
import { linkRecord } from "./lean_span_records.ts";
import type { LinkRecord } from "./lean_span_records.ts";
import { cleanAttributes } from "./span_attributes.ts";
import type { SpanLimits } from "./span_attributes.ts";
import type { SpanSampler } from "./span_sampler.ts";
import { newSpanId, newTraceId } from "./span_ids.ts";
import { withSpan } from "./span_only_context.ts";

/** Options of {@linkcode LeanTracerProvider}. */
export interface LeanTracerProviderOptions {
  /** Where ended spans are encoded and batched; its `forceFlush`/`shutdown` are the provider's. */
  processor: Pick<SpanExportProcessor, "append" | "forceFlush" | "shutdown">;
  resource: SpanResource;
  sampler: SpanSampler;
  limits: SpanLimits;
}

/** `@opentelemetry/core`'s key for "do not trace this" (a `Symbol.for`, so no import of core). */
const SUPPRESS_TRACING = Symbol.for("OpenTelemetry SDK Context Key SUPPRESS_TRACING");
const NO_OPTIONS: SpanOptions = {};
const NO_ATTRIBUTES: unknown[] = [];

/** The lean tracers of one resource and one export path. */
export class LeanTracerProvider implements TracerProvider {
  readonly #shared: TracerShared;
  readonly #processor: LeanTracerProviderOptions["processor"];
  readonly #tracers = new Map<string, LeanTracer>();

  constructor(options: LeanTracerProviderOptions) {
    this.#processor = options.processor;
    this.#shared = { sink: options.processor, resource: options.resource, sampler: options.sampler, limits: options.limits };
  }

  /** The tracer of one instrumentation scope (the same object for the same name, version and schema URL). */
  getTracer(name: string, version?: string, options?: TracerOptions): Tracer {
    const key = `${name}@${version || ""}:${options?.schemaUrl || ""}`;
    let tracer = this.#tracers.get(key);
    if (tracer === undefined) {
      tracer = new LeanTracer(this.#shared, { name, version, schemaUrl: options?.schemaUrl });
      this.#tracers.set(key, tracer);
    }
    return tracer;
  }

  /** Sends what is batched and waits for the collector's answers. */
  forceFlush(): Promise<void> {
    return this.#processor.forceFlush();
  }

  /** Sends the last batch and stops the export. */
  shutdown(): Promise<void> {
    return this.#processor.shutdown();
  }
}

/** Starts spans of one instrumentation scope, as the SDK's `Tracer` does (without its span objects). */
export class LeanTracer implements Tracer {
  readonly #shared: TracerShared;
  readonly #scope: ScopeLike;

  constructor(shared: TracerShared, scope: ScopeLike) {
    this.#shared = shared;
    this.#scope = scope;
  }

  startSpan(name: string, options: SpanOptions = NO_OPTIONS, ctx: Context = context.active()): Span {
    if (options.root) ctx = trace.deleteSpan(ctx);
    if (ctx.getValue(SUPPRESS_TRACING) === true) return trace.wrapSpanContext(INVALID_SPAN_CONTEXT);
    const parentSpan = trace.getSpan(ctx);
    let parent: SpanContext | undefined;
    if (parentSpan !== undefined) {
      const pc = parentSpan.spanContext();
      // One of ours has valid ids by construction: skip the API's two regular expressions.
      if (parentSpan instanceof LeanSpan || trace.isSpanContextValid(pc)) parent = pc;
    }
    const traceId = parent === undefined ? newTraceId() : parent.traceId;
    const spanId = newSpanId();
    const shared = this.#shared;
    const sampled = shared.sampler.sample(parent, traceId);
    // The same shape as the SDK's context (traceState present, perhaps undefined).
    const spanContext = { traceId, spanId, traceFlags: sampled ? TraceFlags.SAMPLED : TraceFlags.NONE, traceState: parent?.traceState } as SpanContext;
    if (!sampled) return trace.wrapSpanContext(spanContext);
    const limits = shared.limits;
    let attributes = NO_ATTRIBUTES;
    let droppedAttributes = 0;
    if (options.attributes !== undefined) {
      const clean = cleanAttributes(options.attributes, limits.attributeCountLimit, limits.attributeValueLengthLimit, false);
      attributes = clean.list;
      droppedAttributes = clean.dropped;
    }
    let links: LinkRecord[] | undefined;
    let droppedLinks = 0;
    if (options.links !== undefined && options.links.length > 0) {
      links = options.links.map((link) => linkRecord(link, limits));
      if (links.length > limits.linkCountLimit) {
        droppedLinks = links.length - limits.linkCountLimit;
        links = links.slice(droppedLinks);
      }
    }
    return new LeanSpan(
      shared,
      this.#scope,
      spanContext,
      parent,
      name,
      options.kind ?? SpanKind.INTERNAL,
      options.startTime,
      attributes === NO_ATTRIBUTES ? [] : attributes,
      droppedAttributes,
      links,
      droppedLinks,
    );
  }

  startActiveSpan<F extends (span: Span) => unknown>(name: string, fn: F): ReturnType<F>;
  startActiveSpan<F extends (span: Span) => unknown>(name: string, options: SpanOptions, fn: F): ReturnType<F>;
  startActiveSpan<F extends (span: Span) => unknown>(name: string, options: SpanOptions, ctx: Context, fn: F): ReturnType<F>;
  startActiveSpan<F extends (span: Span) => unknown>(name: string, ...rest: unknown[]): ReturnType<F> | undefined {
    if (rest.length === 0) return undefined;
    const fn = rest[rest.length - 1] as F;
    const options = rest.length > 1 ? rest[0] as SpanOptions | undefined : undefined;
    const parent = (rest.length > 2 ? rest[1] as Context | undefined : undefined) ?? context.active();
    const span = this.startSpan(name, options, parent);
    return context.with(withSpan(parent, span), fn as (span: Span) => ReturnType<F>, undefined, span);
  }
}
