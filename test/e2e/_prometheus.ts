// @ts-types="./_prometheus_types.d.ts"
import parsePrometheusTextFormat from "parse-prometheus-text-format";

/** One sample of a counter or gauge, or one histogram child, as parse-prometheus-text-format gives them. */
export interface ParsedMetric {
  labels?: Record<string, string>;
  value?: string;
  buckets?: Record<string, string>;
  count?: string;
  sum?: string;
}

/** A metric family. */
export interface ParsedFamily {
  name: string;
  help: string;
  type: "COUNTER" | "GAUGE" | "HISTOGRAM" | "SUMMARY" | "UNTYPED";
  metrics: ParsedMetric[];
}

const parse = parsePrometheusTextFormat as unknown as (text: string) => ParsedFamily[];

/**
 * Parses a Prometheus text exposition with parse-prometheus-text-format (it throws on a malformed
 * line). That parser folds every child of a labelled histogram into one (it was written for
 * unlabelled ones), so histogram families are parsed a second time declared `untyped`: their
 * `_bucket`, `_sum` and `_count` samples then come back one by one, labels intact.
 */
export function parseExposition(text: string): ParsedFamily[] {
  const families = parse(text);
  const histograms = families.filter((f) => f.type === "HISTOGRAM").map((f) => f.name);
  if (histograms.length === 0) return families;
  const untyped = text.replace(/^# TYPE (\S+) histogram$/gm, (line, name: string) => histograms.includes(name) ? `# TYPE ${name} untyped` : line);
  const samples = parse(untyped.split("\n").filter((l) => !/^# (HELP|TYPE) /.test(l) || !histograms.some((h) => l.startsWith(`# HELP ${h} `) || l.startsWith(`# TYPE ${h} `))).join("\n"));
  // Children alternate _bucket, _sum, _count: the parser starts a family at each change of name.
  const merged = new Map<string, ParsedFamily>();
  for (const f of samples.filter((x) => histograms.some((h) => x.name.startsWith(`${h}_`)))) {
    const seen = merged.get(f.name);
    if (seen === undefined) merged.set(f.name, { ...f, metrics: [...f.metrics] });
    else seen.metrics.push(...f.metrics);
  }
  return [...families.filter((f) => f.type !== "HISTOGRAM"), ...merged.values()];
}

/** The family called `name`. */
export function family(families: ParsedFamily[], name: string): ParsedFamily {
  const f = families.find((x) => x.name === name);
  if (f === undefined) throw new Error(`no metric family ${name} (have ${families.map((x) => x.name).join(", ")})`);
  return f;
}

/** The value of the sample of `name` whose labels include `labels`, as a number (undefined if absent). */
export function sample(families: ParsedFamily[], name: string, labels: Record<string, string> = {}): number | undefined {
  const m = family(families, name).metrics.find((x) => Object.entries(labels).every(([k, v]) => x.labels?.[k] === v));
  return m === undefined ? undefined : Number(m.value ?? m.count);
}

/** How many time series (samples) the families hold, of those whose name `keep` accepts. */
export function seriesCount(families: ParsedFamily[], keep: (name: string) => boolean = () => true): number {
  let n = 0;
  for (const f of families) if (keep(f.name)) n += f.metrics.length;
  return n;
}
