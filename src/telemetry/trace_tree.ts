import type { SpanRecord } from "./span_record.ts";

/** One span of a trace in tree order. */
export interface TreeRow {
  readonly span: SpanRecord;
  /** 0 for a root; a child is one deeper than its parent. */
  readonly depth: number;
  /** The last child of its parent (or the last root): draws `└─` rather than `├─`. */
  readonly last: boolean;
  /** From the trace's first start to this span's. */
  readonly offsetMs: number;
}

/**
 * The spans of one trace as a tree, depth first, siblings by start time: the router's span, its
 * attempts and retries under it, each plugin's span under the attempt that reached it, and a
 * plugin's own spans and `ctx.call`s under those. A span whose parent is not among `spans` (not
 * exported yet, or already out of the ring) is shown as a root.
 */
export function traceTree(spans: readonly SpanRecord[]): TreeRow[] {
  const ids = new Set(spans.map((s) => s.spanId));
  const children = new Map<string, SpanRecord[]>();
  const roots: SpanRecord[] = [];
  for (const s of spans) {
    if (s.parentSpanId === "" || !ids.has(s.parentSpanId) || s.parentSpanId === s.spanId) roots.push(s);
    else {
      const list = children.get(s.parentSpanId);
      if (list === undefined) children.set(s.parentSpanId, [s]);
      else list.push(s);
    }
  }
  const byStart = (a: SpanRecord, b: SpanRecord) => a.startMs - b.startMs;
  const start = spans.reduce((min, s) => Math.min(min, s.startMs), Infinity);
  const rows: TreeRow[] = [];
  const seen = new Set<string>();
  const visit = (span: SpanRecord, depth: number, last: boolean) => {
    // Ids come from untrusted exports: a cycle must not loop.
    if (seen.has(span.spanId)) return;
    seen.add(span.spanId);
    rows.push({ span, depth, last, offsetMs: span.startMs - start });
    const kids = (children.get(span.spanId) ?? []).sort(byStart);
    kids.forEach((kid, i) => visit(kid, depth + 1, i === kids.length - 1));
  };
  roots.sort(byStart).forEach((root, i) => visit(root, 0, i === roots.length - 1));
  return rows;
}
