import { diag, TraceFlags } from "@opentelemetry/api";
import type { Context } from "@opentelemetry/api";
import type { ReadableSpan, Span, SpanProcessor } from "@opentelemetry/sdk-trace";
import { ProtoWriter } from "./proto_writer.ts";
import { encodeExportRequest, encodeResource, encodeScope, writeSpan } from "./otlp_proto.ts";
import type { ResourceLike, ScopeBatch, ScopeLike } from "./otlp_proto.ts";
import type { BatchOutcome, BatchSender } from "./otlp_http_sender.ts";

/** Options of {@linkcode SpanExportProcessor}: the batch processor's, with its defaults. */
export interface SpanExportOptions {
  /** Spans encoded or on their way to the collector at most; more are dropped. @default 2048 */
  maxQueueSize?: number | undefined;
  /** Spans per export request. @default 512 */
  maxExportBatchSize?: number | undefined;
  /** How long a span waits for its batch to fill before a smaller one is sent. @default 5000 */
  scheduledDelayMillis?: number | undefined;
}

/** A span that writes itself as a `ScopeSpans.spans` entry (as {@linkcode writeSpan} does). */
export interface EncodableSpan {
  encode(w: ProtoWriter): void;
}

/** The SDK's resource as a span holds it (attributes may still be settling). */
export interface SpanResource extends ResourceLike {
  readonly asyncAttributesPending?: boolean | undefined;
  waitForAsyncAttributes?(): Promise<void>;
}

/** One instrumentation scope's spans of the batch being filled. */
interface ScopeSlot {
  readonly scope: Uint8Array;
  readonly schemaUrl: string | undefined;
  readonly writer: ProtoWriter;
  count: number;
}

/** A scope's first batch buffer: a few hundred bytes a span, so most batches never grow it. */
const SCOPE_BUFFER_BYTES = 64 * 1024;

/**
 * A span processor that encodes each sampled span to OTLP protobuf as it ends, batches the bytes and
 * hands each batch to a {@linkcode BatchSender} (a worker thread in the CLI). A batch leaves when it
 * holds `maxExportBatchSize` spans or `scheduledDelayMillis` after its first span. Ending a span
 * costs its encoding (about a microsecond): the span object is garbage at once instead of living in a
 * queue until its export, and the request path never runs the export itself.
 *
 * Like the SDK's batch processor it drops spans rather than wait: once `maxQueueSize` spans are
 * encoded and not yet settled by the sender (a slow or dead collector), new spans are counted and
 * dropped before any encoding, and the count is logged when spans flow again.
 */
export class SpanExportProcessor implements SpanProcessor {
  readonly #sender: BatchSender;
  readonly #maxQueue: number;
  readonly #batchSize: number;
  readonly #delayMs: number;
  readonly #slots = new Map<object, ScopeSlot>();
  #resource: SpanResource | undefined;
  /** The last resource encoded, and its bytes. */
  #encoded: { resource: SpanResource; bytes: Uint8Array } | undefined;
  /** Spans in the batch being filled. */
  #count = 0;
  /** Spans handed to the sender and not settled yet. */
  #inFlight = 0;
  #dropped = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  /** Batches waiting for the resource's attributes to settle. */
  #waiting: Promise<void> = Promise.resolve();
  #shutdown: Promise<void> | undefined;

  constructor(sender: BatchSender, options: SpanExportOptions = {}) {
    this.#sender = sender;
    this.#maxQueue = options.maxQueueSize ?? 2048;
    this.#batchSize = Math.min(options.maxExportBatchSize ?? 512, this.#maxQueue);
    this.#delayMs = options.scheduledDelayMillis ?? 5000;
  }

  /** Spans dropped because the queue was full, since the last time that was logged. */
  get dropped(): number {
    return this.#dropped;
  }

  onStart(_span: Span, _parentContext: Context): void {}

  onEnd(span: ReadableSpan): void {
    if ((span.spanContext().traceFlags & TraceFlags.SAMPLED) === 0) return;
    const w = this.#writerFor(span.resource, span.instrumentationScope);
    if (w === undefined) return;
    writeSpan(w, span);
    this.#written();
  }

  /**
   * Encodes a sampled span that writes itself (the lean tracer's, see lean_tracer.ts) into the batch
   * of `scope` (keyed by identity), dropping it like {@linkcode onEnd} when the queue is full.
   */
  append(resource: SpanResource, scope: ScopeLike, span: EncodableSpan): void {
    const w = this.#writerFor(resource, scope);
    if (w === undefined) return;
    span.encode(w);
    this.#written();
  }

  /** The writer of `scope`'s spans in the batch being filled, or `undefined` when the span is dropped. */
  #writerFor(resource: SpanResource, scope: ScopeLike): ProtoWriter | undefined {
    if (this.#shutdown !== undefined) return undefined;
    if (this.#count + this.#inFlight >= this.#maxQueue) {
      if (this.#dropped++ === 0) diag.debug("maxQueueSize reached, dropping spans");
      return undefined;
    }
    if (this.#dropped > 0) {
      diag.warn(`Dropped ${this.#dropped} spans because maxQueueSize reached`);
      this.#dropped = 0;
    }
    if (resource !== this.#resource) {
      // One batch, one resource (a process has one tracer provider, so this happens once).
      if (this.#count > 0) this.#flush();
      this.#resource = resource;
    }
    let slot = this.#slots.get(scope);
    if (slot === undefined) {
      slot = { scope: encodeScope(scope), schemaUrl: scope.schemaUrl, writer: new ProtoWriter(SCOPE_BUFFER_BYTES), count: 0 };
      this.#slots.set(scope, slot);
    }
    slot.count++;
    return slot.writer;
  }

  /** A span was written into its scope's batch. */
  #written(): void {
    if (++this.#count >= this.#batchSize) this.#flush();
    else if (this.#timer === undefined) {
      this.#timer = setTimeout(() => this.#flush(), this.#delayMs);
      (this.#timer as { unref?: () => void }).unref?.();
    }
  }

  /** Sends the batch being filled, then waits until the sender has settled everything. */
  async forceFlush(): Promise<void> {
    this.#flush();
    await this.#waiting;
    await this.#sender.forceFlush();
  }

  shutdown(): Promise<void> {
    return this.#shutdown ??= (async () => {
      this.#flush();
      await this.#waiting;
      await this.#sender.shutdown();
    })();
  }

  #flush(): void {
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    if (this.#count === 0) return;
    const resource = this.#resource!;
    // The detectors' asynchronous attributes (host.id, say) may not be in yet: the SDK waits too.
    const later = this.#encoded?.resource !== resource && resource.asyncAttributesPending === true && resource.waitForAsyncAttributes !== undefined;
    const scopes: ScopeBatch[] = [];
    for (const [key, slot] of this.#slots) {
      if (slot.count === 0) {
        // A tracer that stopped making spans lets its buffer go.
        this.#slots.delete(key);
        continue;
      }
      // Sent now, the request gets a copy and the buffer is written again; sent later, it is handed over.
      const w = slot.writer;
      scopes.push({ scope: slot.scope, schemaUrl: slot.schemaUrl, spans: later ? w.take() : w.buf.subarray(0, w.pos) });
      slot.count = 0;
    }
    const count = this.#count;
    this.#count = 0;
    this.#inFlight += count;
    const send = () => {
      if (this.#encoded?.resource !== resource) this.#encoded = { resource, bytes: encodeResource(resource) };
      const body = encodeExportRequest(this.#encoded.bytes, resource.schemaUrl, scopes);
      this.#sender.send({ body, count }, (outcome) => this.#settled(count, outcome));
    };
    if (later) {
      this.#waiting = Promise.all([this.#waiting, resource.waitForAsyncAttributes!()]).then(send, (err: unknown) => {
        diag.error("resource attributes failed", err);
        send();
      });
      return;
    }
    send();
    for (const slot of this.#slots.values()) slot.writer.pos = 0;
  }

  #settled(count: number, outcome: BatchOutcome): void {
    this.#inFlight -= count;
    if (outcome !== undefined) diag.error(`span export failed (${count} spans dropped): ${outcome}`);
  }
}
