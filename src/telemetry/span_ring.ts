import type { SpanRecord } from "./span_record.ts";

/** The attribute that carries a request's id on the router's and the plugins' spans. */
const REQUEST_ID = "switchyard.request_id";
/** A trace id as the ring stores it: 32 lowercase hex digits. */
const TRACE_ID = /^[0-9a-f]{32}$/;

/** The spans of one trace in the ring, and the request ids they carry. */
interface TraceEntry {
  readonly spans: SpanRecord[];
  readonly requestIds: Set<string>;
}

/** One trace, summed up for a list. */
export interface TraceSummary {
  traceId: string;
  /** The root span's name (the router's `POST /v1/<plugin>/<method>`), or the earliest span's. */
  name: string;
  /** The first request id seen on its spans, `""` when none carries one. */
  requestId: string;
  startMs: number;
  durationMs: number;
  spans: number;
  /** Some span has an error status. */
  error: boolean;
  services: string[];
}

/**
 * The most recent spans the router saw, its own and its plugins', in a ring of fixed capacity: a
 * new span replaces the oldest, so memory stays bounded however many arrive. Spans are indexed by
 * trace id and by request id (the `switchyard.request_id` attribute) for lookups; both indexes
 * shrink as spans leave the ring.
 */
export class SpanRing {
  readonly #slots: (SpanRecord | undefined)[];
  #next = 0;
  #size = 0;
  #evicted = 0;
  #version = 0;
  readonly #traces = new Map<string, TraceEntry>();
  readonly #requests = new Map<string, string>();

  /** @param capacity spans kept at most. */
  constructor(capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) {
      throw new RangeError("capacity must be a positive integer");
    }
    this.#slots = new Array(capacity);
  }

  get capacity(): number {
    return this.#slots.length;
  }

  /** Spans held now (at most {@linkcode capacity}). */
  get size(): number {
    return this.#size;
  }

  /** Spans pushed out by newer ones so far. */
  get evicted(): number {
    return this.#evicted;
  }

  /** Traces with at least one span in the ring. */
  get traceCount(): number {
    return this.#traces.size;
  }

  /** Request ids the ring can look up now. */
  get requestCount(): number {
    return this.#requests.size;
  }

  /** Changes with every push: a reader can skip work when nothing arrived. */
  get version(): number {
    return this.#version;
  }

  /** Adds a span, evicting the oldest when full. */
  push(span: SpanRecord): void {
    const at = this.#next;
    const old = this.#slots[at];
    if (old !== undefined) this.#forget(old);
    this.#size++;
    this.#slots[at] = span;
    this.#next = (at + 1) % this.#slots.length;
    this.#version++;
    let entry = this.#traces.get(span.traceId);
    if (entry === undefined) {
      entry = { spans: [], requestIds: new Set() };
      this.#traces.set(span.traceId, entry);
    }
    entry.spans.push(span);
    const requestId = span.attributes[REQUEST_ID];
    if (typeof requestId === "string" && requestId !== "") {
      entry.requestIds.add(requestId);
      this.#requests.set(requestId, span.traceId);
    }
  }

  /** The spans of `traceId` in the ring, oldest first (a copy). */
  trace(traceId: string): SpanRecord[] {
    return [...this.#traces.get(traceId)?.spans ?? []];
  }

  /** The trace id of a trace id or a request id, if the ring holds spans of it. */
  resolve(id: string): string | undefined {
    const lower = id.toLowerCase();
    if (TRACE_ID.test(lower) && this.#traces.has(lower)) return lower;
    return this.#requests.get(id);
  }

  /** Every trace in the ring, summed up. */
  summaries(): TraceSummary[] {
    const out: TraceSummary[] = [];
    for (const [traceId, entry] of this.#traces) out.push(summarize(traceId, entry));
    return out;
  }

  /** The `limit` traces that started last, newest first. */
  recent(limit: number): TraceSummary[] {
    return this.summaries().sort((a, b) => b.startMs - a.startMs).slice(0, limit);
  }

  /** The `limit` longest traces, longest first. */
  slowest(limit: number): TraceSummary[] {
    return this.summaries().sort((a, b) => b.durationMs - a.durationMs).slice(0, limit);
  }

  #forget(span: SpanRecord): void {
    this.#size--;
    this.#evicted++;
    const entry = this.#traces.get(span.traceId);
    if (entry === undefined) return;
    // Spans leave in the order they came, so the oldest is nearly always first.
    const i = entry.spans[0] === span ? 0 : entry.spans.indexOf(span);
    if (i >= 0) entry.spans.splice(i, 1);
    if (entry.spans.length > 0) return;
    this.#traces.delete(span.traceId);
    for (const requestId of entry.requestIds) {
      if (this.#requests.get(requestId) === span.traceId) this.#requests.delete(requestId);
    }
  }
}

function summarize(traceId: string, entry: TraceEntry): TraceSummary {
  const spans = entry.spans;
  const ids = new Set(spans.map((s) => s.spanId));
  let start = Infinity;
  let end = -Infinity;
  let root: SpanRecord | undefined;
  let error = false;
  const services = new Set<string>();
  for (const s of spans) {
    start = Math.min(start, s.startMs);
    end = Math.max(end, s.startMs + s.durationMs);
    if (s.status === "error") error = true;
    services.add(s.service);
    const top = s.parentSpanId === "" || !ids.has(s.parentSpanId);
    if (top && (root === undefined || s.startMs < root.startMs)) root = s;
  }
  return {
    traceId,
    name: root?.name ?? "",
    requestId: entry.requestIds.values().next().value ?? "",
    startMs: start,
    durationMs: Math.max(0, end - start),
    spans: spans.length,
    error,
    services: [...services],
  };
}
