import { context, SpanKind, SpanStatusCode, trace, TraceFlags } from "@opentelemetry/api";
import type {
  Attributes,
  AttributeValue,
  Context,
  Exception,
  Link,
  Span,
  SpanContext,
  SpanOptions,
  SpanStatus,
  TimeInput,
  Tracer,
} from "@opentelemetry/api";
import { clip, MAX_SPAN_EVENTS, putAttribute } from "./span_record.ts";
import type { SpanEvent, SpanKindName, SpanRecord, SpanValue } from "./span_record.ts";
import type { SpanRing } from "./span_ring.ts";
import { newSpanId, newTraceId } from "./span_ids.ts";

const KIND_NAMES: Readonly<Record<SpanKind, SpanKindName>> = {
  [SpanKind.INTERNAL]: "internal",
  [SpanKind.SERVER]: "server",
  [SpanKind.CLIENT]: "client",
  [SpanKind.PRODUCER]: "producer",
  [SpanKind.CONSUMER]: "consumer",
};

/**
 * A tracer that keeps every span it ends in `ring` and hands the same calls to `inner` (the SDK's
 * tracer, which exports), so the router's own spans reach the dashboard whatever exports them.
 * Without `inner` it makes its own ids and exports nothing: the ring is all there is.
 *
 * Its spans record whatever `inner`'s sampler decided (the ring is for looking at recent
 * requests, the export for keeping them), so only use it where the ring is wanted: the cost is
 * a wrapper and the attributes copied per span.
 */
export function ringTracer(ring: SpanRing, service: string, inner?: Tracer): Tracer {
  const start = (name: string, options: SpanOptions = {}, ctx: Context = context.active()): Span => {
    const parent = trace.getSpanContext(ctx);
    const live = parent !== undefined && trace.isSpanContextValid(parent) ? parent : undefined;
    const span = inner?.startSpan(name, options, ctx) ?? trace.wrapSpanContext(newContext(live));
    return new RingSpan(ring, span, {
      service,
      name,
      kind: KIND_NAMES[options.kind ?? SpanKind.INTERNAL],
      parentSpanId: live?.spanId ?? "",
      attributes: options.attributes,
    });
  };
  function startActiveSpan<F extends (span: Span) => unknown>(
    name: string,
    ...rest: unknown[]
  ): ReturnType<F> {
    const fn = rest[rest.length - 1] as F;
    const options = rest.length > 1 ? rest[0] as SpanOptions | undefined : undefined;
    const ctx = rest.length > 2 ? rest[1] as Context : context.active();
    const span = start(name, options, ctx);
    return context.with(trace.setSpan(ctx, span), fn as (span: Span) => ReturnType<F>, undefined, span);
  }
  return { startSpan: start, startActiveSpan } as Tracer;
}

interface Begin {
  service: string;
  name: string;
  kind: SpanKindName;
  parentSpanId: string;
  attributes: Attributes | undefined;
}

/** A span that mirrors what is set on it, and goes into the ring when it ends. */
class RingSpan implements Span {
  readonly #ring: SpanRing;
  readonly #inner: Span;
  readonly #begin: Begin;
  readonly #startMs = now();
  readonly #attributes: Record<string, SpanValue> = {};
  readonly #events: SpanEvent[] = [];
  #name: string;
  #status: SpanStatus = { code: SpanStatusCode.UNSET };
  #ended = false;

  constructor(ring: SpanRing, inner: Span, begin: Begin) {
    this.#ring = ring;
    this.#inner = inner;
    this.#begin = begin;
    this.#name = begin.name;
    for (const [key, value] of Object.entries(begin.attributes ?? {})) {
      putAttribute(this.#attributes, key, value);
    }
  }

  spanContext(): SpanContext {
    return this.#inner.spanContext();
  }

  setAttribute(key: string, value: AttributeValue): this {
    this.#inner.setAttribute(key, value);
    putAttribute(this.#attributes, key, value);
    return this;
  }

  setAttributes(attributes: Attributes): this {
    this.#inner.setAttributes(attributes);
    for (const key in attributes) putAttribute(this.#attributes, key, attributes[key]);
    return this;
  }

  addEvent(name: string, attributesOrTime?: Attributes | TimeInput, time?: TimeInput): this {
    this.#inner.addEvent(name, attributesOrTime, time);
    const attributes: Record<string, SpanValue> = {};
    if (
      typeof attributesOrTime === "object" && attributesOrTime !== null && !Array.isArray(attributesOrTime) &&
      !(attributesOrTime instanceof Date)
    ) {
      for (const key in attributesOrTime) {
        putAttribute(attributes, key, (attributesOrTime as Attributes)[key]);
      }
    }
    if (this.#events.length < MAX_SPAN_EVENTS) {
      this.#events.push({ name: clip(name), atMs: now(), attributes });
    }
    return this;
  }

  addLink(link: Link): this {
    this.#inner.addLink(link);
    return this;
  }

  addLinks(links: Link[]): this {
    this.#inner.addLinks(links);
    return this;
  }

  setStatus(status: SpanStatus): this {
    this.#inner.setStatus(status);
    this.#status = status;
    return this;
  }

  updateName(name: string): this {
    this.#inner.updateName(name);
    this.#name = name;
    return this;
  }

  end(endTime?: TimeInput): void {
    this.#inner.end(endTime);
    if (this.#ended) return;
    this.#ended = true;
    const ids = this.#inner.spanContext();
    const status = this.#status;
    const record: SpanRecord = {
      traceId: ids.traceId,
      spanId: ids.spanId,
      parentSpanId: this.#begin.parentSpanId,
      service: this.#begin.service,
      name: clip(this.#name),
      kind: this.#begin.kind,
      startMs: this.#startMs,
      durationMs: Math.max(0, now() - this.#startMs),
      status: status.code === SpanStatusCode.ERROR
        ? "error"
        : status.code === SpanStatusCode.OK
        ? "ok"
        : "unset",
      statusMessage: clip(status.message ?? ""),
      attributes: this.#attributes,
      events: this.#events,
    };
    this.#ring.push(record);
  }

  /** Recording whatever the inner span's sampler said: the ring keeps every span. */
  isRecording(): boolean {
    return !this.#ended;
  }

  recordException(exception: Exception, time?: TimeInput): void {
    this.#inner.recordException(exception, time);
    const message = typeof exception === "string" ? exception : exception.message ?? String(exception);
    if (this.#events.length < MAX_SPAN_EVENTS) {
      this.#events.push({
        name: "exception",
        atMs: now(),
        attributes: { "exception.message": clip(message ?? "") },
      });
    }
  }
}

/** Epoch milliseconds with sub-millisecond precision. */
function now(): number {
  return performance.timeOrigin + performance.now();
}

/** A new sampled span context under `parent`, or a new trace. */
function newContext(parent: SpanContext | undefined): SpanContext {
  return {
    traceId: parent?.traceId ?? newTraceId(),
    spanId: newSpanId(),
    traceFlags: TraceFlags.SAMPLED,
  };
}
