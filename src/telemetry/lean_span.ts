/**
 * The lean tracer's span: what the API's `Span` records, kept compactly (attributes in a flat list,
 * events and links only when there are any, times as seconds and nanoseconds from one clock read)
 * and written to OTLP protobuf by {@linkcode LeanSpan.encode} when it ends, in the field order of
 * `writeSpan()` (otlp_proto.ts), so its bytes read as the SDK's would.
 * @module
 */
import { diag, SpanStatusCode } from "@opentelemetry/api";
import type { Attributes, AttributeValue, Exception, HrTime, Link, Span, SpanContext, SpanKind, SpanStatus, TimeInput } from "@opentelemetry/api";
import type { ProtoWriter } from "./proto_writer.ts";
import { flags, writeIds, writeTimeParts } from "./otlp_proto.ts";
import type { ScopeLike } from "./otlp_proto.ts";
import type { EncodableSpan, SpanResource } from "./span_export_processor.ts";
import { cleanAttributes, PUT_DROPPED, setAttribute } from "./span_attributes.ts";
import { isTimeInput, linkRecord, writeEvent, writeLink, writeList } from "./lean_span_records.ts";
import type { EventRecord, LinkRecord } from "./lean_span_records.ts";
import type { SpanLimits } from "./span_attributes.ts";
import { epochSeconds, lastNanos, millisToHr } from "./span_clock.ts";
import type { SpanSampler } from "./span_sampler.ts";

/**
 * Span times are kept as seconds since this (the process's start, give or take) so they stay small
 * integers: an epoch second count does not fit V8's small integers and would be boxed per field.
 */
const BASE_S = Math.floor(Date.now() / 1000);
/** The nanoseconds of the time `#time()` returned last. */
let nanos = 0;

/** Where ended spans go (a `SpanExportProcessor`). */
export interface SpanSink {
  append(resource: SpanResource, scope: ScopeLike, span: EncodableSpan): void;
}

/** What all spans of one provider share. */
export interface TracerShared {
  readonly sink: SpanSink;
  readonly resource: SpanResource;
  readonly limits: SpanLimits;
  readonly sampler: SpanSampler;
}

/** A sampled span of the lean tracer (non-sampled spans are the API's non-recording spans). */
export class LeanSpan implements Span, EncodableSpan {
  readonly #shared: TracerShared;
  readonly #scope: ScopeLike;
  readonly #ctx: SpanContext;
  readonly #parent: SpanContext | undefined;
  #name: string;
  readonly #kind: number;
  /** `performance.now()` at the start; NaN when the start time was given. */
  readonly #perf: number;
  /** Seconds since {@linkcode BASE_S} (a small integer, not a boxed number) and nanoseconds. */
  readonly #startS: number;
  readonly #startNs: number;
  #endS = 0;
  #endNs = 0;
  readonly #attributes: unknown[];
  #droppedAttributes: number;
  #events: EventRecord[] | undefined = undefined;
  #droppedEvents = 0;
  #links: LinkRecord[] | undefined;
  #droppedLinks: number;
  #status: number = SpanStatusCode.UNSET;
  #message: string | undefined = undefined;
  #ended = false;

  constructor(
    shared: TracerShared,
    scope: ScopeLike,
    ctx: SpanContext,
    parent: SpanContext | undefined,
    name: string,
    kind: SpanKind,
    startTime: TimeInput | undefined,
    attributes: unknown[],
    droppedAttributes: number,
    links: LinkRecord[] | undefined,
    droppedLinks: number,
  ) {
    this.#shared = shared;
    this.#scope = scope;
    this.#ctx = ctx;
    this.#parent = parent;
    this.#name = name;
    this.#kind = kind;
    this.#attributes = attributes;
    this.#droppedAttributes = droppedAttributes;
    this.#links = links;
    this.#droppedLinks = droppedLinks;
    if (startTime === undefined) {
      const perf = performance.now();
      this.#perf = perf;
      this.#startS = epochSeconds(perf) - BASE_S;
      this.#startNs = lastNanos;
    } else {
      this.#perf = NaN;
      this.#startS = this.#time(startTime);
      this.#startNs = nanos;
    }
  }

  spanContext(): SpanContext {
    return this.#ctx;
  }

  isRecording(): boolean {
    return !this.#ended;
  }

  setAttribute(key: string, value: AttributeValue): this {
    if (this.#isEnded()) return this;
    const limits = this.#shared.limits;
    if (setAttribute(this.#attributes, key, value, limits.attributeCountLimit, limits.attributeValueLengthLimit) === PUT_DROPPED) {
      if (++this.#droppedAttributes === 1) diag.warn("Dropping extra attributes.");
    }
    return this;
  }

  setAttributes(attributes: Attributes): this {
    for (const key in attributes) {
      if (Object.prototype.hasOwnProperty.call(attributes, key)) this.setAttribute(key, attributes[key]!);
    }
    return this;
  }

  addEvent(name: string, attributesOrTime?: Attributes | TimeInput, time?: TimeInput): this {
    if (this.#isEnded()) return this;
    const limits = this.#shared.limits;
    if (limits.eventCountLimit === 0) {
      diag.warn("No events allowed.");
      this.#droppedEvents++;
      return this;
    }
    const events = this.#events ??= [];
    if (events.length >= limits.eventCountLimit) {
      if (this.#droppedEvents === 0) diag.debug("Dropping extra events.");
      events.shift();
      this.#droppedEvents++;
    }
    let attributes: Attributes | undefined = attributesOrTime as Attributes | undefined;
    if (isTimeInput(attributesOrTime)) {
      if (!isTimeInput(time)) time = attributesOrTime;
      attributes = undefined;
    }
    const at = this.#time(time);
    const clean = typeof attributes === "object" && attributes !== null
      ? cleanAttributes(attributes, limits.attributePerEventCountLimit, limits.attributeValueLengthLimit, true)
      : undefined;
    events.push({ name, s: at + BASE_S, ns: nanos, attributes: clean?.list, dropped: clean?.dropped ?? 0 });
    return this;
  }

  addLink(link: Link): this {
    if (this.#isEnded()) return this;
    const limits = this.#shared.limits;
    if (limits.linkCountLimit === 0) {
      this.#droppedLinks++;
      return this;
    }
    const links = this.#links ??= [];
    if (links.length >= limits.linkCountLimit) {
      if (this.#droppedLinks === 0) diag.debug("Dropping extra links.");
      links.shift();
      this.#droppedLinks++;
    }
    links.push(linkRecord(link, limits));
    return this;
  }

  addLinks(links: Link[]): this {
    for (const link of links) this.addLink(link);
    return this;
  }

  setStatus(status: SpanStatus): this {
    if (this.#isEnded() || status.code === SpanStatusCode.UNSET || this.#status === SpanStatusCode.OK) return this;
    this.#status = status.code;
    this.#message = undefined;
    if (status.code === SpanStatusCode.ERROR) {
      if (typeof status.message === "string") this.#message = status.message;
      else if (status.message != null) diag.warn(`Dropping invalid status.message of type '${typeof status.message}', expected 'string'`);
    }
    return this;
  }

  updateName(name: string): this {
    if (!this.#isEnded()) this.#name = name;
    return this;
  }

  recordException(exception: Exception, time?: TimeInput): void {
    const attributes: Attributes = {};
    if (typeof exception === "string") attributes["exception.message"] = exception;
    else if (exception) {
      if (exception.code) attributes["exception.type"] = exception.code.toString();
      else if (exception.name) attributes["exception.type"] = exception.name;
      if (exception.message) attributes["exception.message"] = exception.message;
      if (exception.stack) attributes["exception.stacktrace"] = exception.stack;
    }
    if (attributes["exception.type"] || attributes["exception.message"]) this.addEvent("exception", attributes, time);
    else diag.warn(`Failed to record an exception ${exception}`);
  }

  /** Ends the span and hands it to the sink, which encodes it at once. */
  end(endTime?: TimeInput): void {
    if (this.#ended) {
      diag.error(`${this.#name} ${this.#ctx.traceId}-${this.#ctx.spanId} - You can only call end() on a span once.`);
      return;
    }
    let s = this.#time(endTime);
    let ns = nanos;
    if (s < this.#startS || (s === this.#startS && ns < this.#startNs)) {
      diag.warn("Inconsistent start and end time, startTime > endTime. Setting span duration to 0ms.");
      s = this.#startS;
      ns = this.#startNs;
    }
    this.#endS = s;
    this.#endNs = ns;
    if (this.#droppedEvents > 0) diag.warn(`Dropped ${this.#droppedEvents} events because eventCountLimit reached`);
    if (this.#droppedLinks > 0) diag.warn(`Dropped ${this.#droppedLinks} links because linkCountLimit reached`);
    this.#ended = true;
    this.#shared.sink.append(this.#shared.resource, this.#scope, this);
  }

  /** Writes the span as a `ScopeSpans.spans` entry: the fields of `writeSpan()`, in its order. */
  encode(w: ProtoWriter): void {
    w.tag(2, 2);
    const mark = w.open(2);
    const ctx = this.#ctx;
    writeIds(w, ctx);
    const parent = this.#parent;
    if (parent !== undefined) {
      w.tag(4, 2);
      w.hex(parent.spanId);
    }
    w.tag(5, 2);
    w.string(this.#name);
    w.tag(6, 0);
    w.varint32(this.#kind + 1);
    w.tag(7, 1);
    writeTimeParts(w, this.#startS + BASE_S, this.#startNs);
    w.tag(8, 1);
    writeTimeParts(w, this.#endS + BASE_S, this.#endNs);
    writeList(w, this.#attributes, 9);
    w.tag(10, 0);
    w.varint32(this.#droppedAttributes);
    const events = this.#events;
    if (events !== undefined) for (let i = 0; i < events.length; i++) writeEvent(w, events[i]!);
    w.tag(12, 0);
    w.varint32(this.#droppedEvents);
    const links = this.#links;
    if (links !== undefined) for (let i = 0; i < links.length; i++) writeLink(w, links[i]!);
    w.tag(14, 0);
    w.varint32(this.#droppedLinks);
    w.tag(15, 2);
    const status = w.open(1);
    if (this.#message) {
      w.tag(2, 2);
      w.string(this.#message);
    }
    w.tag(3, 0);
    w.varint32(this.#status);
    w.close(status);
    w.tag(16, 5);
    w.fixed32(flags(ctx, parent?.isRemote));
    w.close(mark);
  }

  /**
   * `input` as Unix time, or now (the start plus the monotonic time since): returns the seconds since
   * {@linkcode BASE_S} and leaves the nanoseconds in {@linkcode nanos}.
   */
  #time(input: TimeInput | undefined): number {
    let hr: HrTime;
    if (input === undefined || !isTimeInput(input)) {
      if (this.#perf === this.#perf) {
        const total = this.#startNs + Math.round((performance.now() - this.#perf) * 1e6);
        const carry = Math.floor(total / 1e9);
        nanos = total - carry * 1e9;
        return this.#startS + carry;
      }
      const s = epochSeconds(performance.now());
      nanos = lastNanos;
      return s - BASE_S;
    } else if (typeof input === "number") {
      if (input <= performance.now()) {
        const s = epochSeconds(input);
        nanos = lastNanos;
        return s - BASE_S;
      }
      hr = millisToHr(input);
    } else if (input instanceof Date) hr = millisToHr(input.getTime());
    else hr = input as HrTime;
    nanos = hr[1];
    return hr[0] - BASE_S;
  }

  #isEnded(): boolean {
    if (this.#ended) diag.warn(`Cannot execute the operation on ended Span {traceId: ${this.#ctx.traceId}, spanId: ${this.#ctx.spanId}}`);
    return this.#ended;
  }
}
