/**
 * The one table the performance work reads: per runtime, Switchyard against the lean floor
 * (floor-http-mux), tracing on against off, and Switchyard against Moleculer, all from one run.
 * Every line says which scenario is the numerator, which the baseline, and which way is better.
 * With `--repeat N` each ratio is taken within a repetition (its two sides ran back to back, see
 * run.ts) and the table shows the median over the repetitions and their range: on a shared VM the
 * machine's speed drifts by more than the differences measured, so a ratio of two medians taken
 * minutes apart would mostly measure the drift.
 * @module
 */
import { serverCpu } from "./report.ts";
import type { Row } from "./row.ts";

interface SummaryLine {
  measure: string;
  num: string;
  den: string;
  c: number;
  /** How to read the value, and the goal when there is one. */
  readsAs: string;
  value(num: Row, den: Row): number | undefined;
  /** `ratio`: two decimals; `delta`: signed whole µs. */
  kind: "ratio" | "delta";
}

const reqPerSec = (num: Row, den: Row) => div(num.result?.reqPerSec, den.result?.reqPerSec);
const cpu = (num: Row, den: Row) => div(serverCpu(num), serverCpu(den));
const p50Delta = (num: Row, den: Row) =>
  num.result === undefined || den.result === undefined ? undefined : num.result.p50Us - den.result.p50Us;

const FLOOR = "floor-http-mux";
const MORE = "> 1: Switchyard serves more";
const LESS = "< 1: Switchyard spends less";

/** The lines of the summary, in print order. */
export const SUMMARY_LINES: readonly SummaryLine[] = [
  ...[1, 64].flatMap((c): SummaryLine[] => [
    {
      measure: "req/s: switchyard / lean floor",
      num: "switchyard",
      den: FLOOR,
      c,
      readsAs: MORE,
      value: reqPerSec,
      kind: "ratio",
    },
    {
      measure: "server CPU µs/req: switchyard / lean floor",
      num: "switchyard",
      den: FLOOR,
      c,
      readsAs: LESS,
      value: cpu,
      kind: "ratio",
    },
  ]),
  {
    measure: "p50 µs: switchyard − lean floor",
    num: "switchyard",
    den: FLOOR,
    c: 1,
    readsAs: "µs Switchyard adds to one request",
    value: p50Delta,
    kind: "delta",
  },
  ...[1, 64].map((c): SummaryLine => ({
    measure: "req/s: tracing on / off",
    num: "switchyard+tracing",
    den: "switchyard",
    c,
    readsAs: "1 = tracing costs nothing (goal ≥ 0.85)",
    value: reqPerSec,
    kind: "ratio",
  })),
  {
    measure: "req/s: switchyard / moleculer",
    num: "switchyard",
    den: "moleculer",
    c: 64,
    readsAs: `${MORE} (goal: node ≥ 2, bun ≥ 3)`,
    value: reqPerSec,
    kind: "ratio",
  },
  {
    measure: "server CPU µs/req: switchyard / moleculer",
    num: "switchyard",
    den: "moleculer",
    c: 64,
    readsAs: LESS,
    value: cpu,
    kind: "ratio",
  },
];

const LEGEND = "lean floor = floor-http-mux (hand-written Hono + NATS gateway → bare responder); " +
  "server CPU = gateway + plugin + nats-server CPU µs per request, the load generator excluded; " +
  '"-" = a side not in the run, skipped or failed.';

function div(a: number | undefined, b: number | undefined): number | undefined {
  return a === undefined || b === undefined || b === 0 ? undefined : a / b;
}

function format(value: number | undefined, kind: SummaryLine["kind"]): string {
  if (value === undefined || !Number.isFinite(value)) return "-";
  if (kind === "ratio") return value.toFixed(2);
  const rounded = Math.round(value);
  return rounded > 0 ? `+${rounded}` : String(rounded);
}

/** The median of `values` (the mean of the two middle ones for an even count). */
function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/**
 * A line's value for one runtime: per repetition where both sides succeeded, then the median, with
 * the range when there were several ("1.02 (0.95–1.10)"); "-" where no repetition has both sides.
 */
function cell(line: SummaryLine, rows: readonly Row[], runtime: string): string {
  const ok = (scenario: string, r: Row) =>
    r.scenario === scenario && r.runtime === runtime && r.concurrency === line.c && r.status === "ok" && r.result !== undefined;
  const values: number[] = [];
  const reps = [...new Set(rows.map((r) => r.rep ?? 1))];
  for (const rep of reps) {
    const num = rows.find((r) => (r.rep ?? 1) === rep && ok(line.num, r));
    const den = rows.find((r) => (r.rep ?? 1) === rep && ok(line.den, r));
    const value = num === undefined || den === undefined ? undefined : line.value(num, den);
    if (value !== undefined && Number.isFinite(value)) values.push(value);
  }
  if (values.length === 0) return "-";
  const mid = format(median(values), line.kind);
  if (values.length === 1) return mid;
  return `${mid} (${format(Math.min(...values), line.kind)}–${format(Math.max(...values), line.kind)})`;
}

/**
 * One line per measure, one column per runtime of the run. "server CPU" is gateway + plugin +
 * nats-server µs per request (the load generator excluded); "-" where a side was not measured.
 * `rows` are every repetition's rows (each with its `rep`), not the folded summary.
 */
export function summaryTable(rows: readonly Row[]): string {
  const runtimes = [...new Set(rows.map((r) => r.runtime))];
  const header = ["measure", "numerator", "baseline", "c", "reads as", ...runtimes];
  const lines = SUMMARY_LINES.map((line) => [
    line.measure,
    line.num,
    line.den,
    String(line.c),
    line.readsAs,
    ...runtimes.map((runtime) => cell(line, rows, runtime)),
  ]);
  const sep = header.map((_, i) => (i < 5 ? "---" : "---:"));
  const table = [header, sep, ...lines].map((cells) => `| ${cells.join(" | ")} |`).join("\n");
  const spread = rows.some((r) => (r.rep ?? 1) > 1) ? "\n\nWith repetitions: the median of the per-repetition ratios (their range in brackets)." : "";
  return `${table}\n\n${LEGEND}${spread}`;
}
