/**
 * Markdown tables from the rows of one run: the measurements, then ratios between scenarios measured
 * in that same run (same machine, same moment).
 * @module
 */
import type { Column, Row } from "./row.ts";
import type { Summary } from "./summarize.ts";

const CPU_COLUMNS: readonly Column[] = ["gateway", "plugin", "nats", "load"];
const RSS_COLUMNS: readonly Column[] = ["gateway", "plugin", "nats"];
const SERVER_COLUMNS: readonly Column[] = ["gateway", "plugin", "nats"];

/** Pairs of scenarios compared in the ratio table: numerator / denominator. */
export const RATIOS = [
  { name: "switchyard / floor-http", num: "switchyard", den: "floor-http-mux" },
  { name: "switchyard (no guard) / floor-http", num: "switchyard/no-guard", den: "floor-http-mux" },
  { name: "switchyard / floor-nats", num: "switchyard", den: "floor-nats" },
  { name: "tracing on / off", num: "switchyard+tracing", den: "switchyard" },
  { name: "dead collector / tracing", num: "switchyard+dead-collector", den: "switchyard+tracing" },
  { name: "dashboard open / closed", num: "switchyard+dashboard", den: "switchyard" },
  { name: "dashboard open, traces kept / closed", num: "switchyard+dashboard+traces", den: "switchyard" },
  { name: "nc.request / mux", num: "floor-http-request", den: "floor-http-mux" },
  { name: "floor-http / floor-nats", num: "floor-http-mux", den: "floor-nats" },
  { name: "switchyard / moleculer", num: "switchyard", den: "moleculer" },
] as const;

function fmt(n: number | undefined, digits = 0): string {
  return n === undefined || !Number.isFinite(n) ? "-" : n.toFixed(digits);
}

/** Sum of gateway, plugin and nats-server CPU µs per request (the load generator excluded). */
export function serverCpu(row: Row): number | undefined {
  if (row.cpuUsPerReq === undefined) return undefined;
  return SERVER_COLUMNS.reduce((sum, c) => sum + (row.cpuUsPerReq?.[c] ?? 0), 0);
}

function firstLine(text: string): string {
  return (text.split("\n")[0] ?? "").replaceAll("|", "/");
}

function table(header: string[], lines: string[][]): string {
  const sep = header.map((h, i) => (i < 3 || h === "status" ? "---" : "---:"));
  return [header, sep, ...lines].map((cells) => `| ${cells.join(" | ")} |`).join("\n");
}

/** The results table: req/s, latency, CPU µs/req and RSS per process. */
export function resultsTable(rows: readonly Summary[]): string {
  const repeated = rows.some((r) => r.runs > 1);
  const header = [
    "scenario",
    "runtime",
    "c",
    "req/s",
    ...(repeated ? ["req/s min–max"] : []),
    "p50 µs",
    "p99 µs",
    ...CPU_COLUMNS.map((c) => `CPU µs/req ${c}`),
    "CPU µs/req servers Σ",
    ...RSS_COLUMNS.map((c) => `RSS MiB ${c}`),
    "host busy cores",
    "others' cores",
    "status",
  ];
  const lines = rows.map((r) => [
    r.scenario,
    r.runtime,
    String(r.concurrency),
    fmt(r.result?.reqPerSec),
    ...(repeated
      ? [r.reqPerSecMin === undefined ? "-" : `${fmt(r.reqPerSecMin)}–${fmt(r.reqPerSecMax)}`]
      : []),
    fmt(r.result?.p50Us),
    fmt(r.result?.p99Us),
    ...CPU_COLUMNS.map((c) => fmt(r.cpuUsPerReq?.[c], 1)),
    fmt(serverCpu(r), 1),
    ...RSS_COLUMNS.map((c) => fmt(r.rssMiB?.[c], 1)),
    fmt(r.host?.busyCores, 2),
    fmt(r.host?.otherCores, 2),
    r.status === "ok"
      ? (r.note === "" ? "ok" : `ok (${firstLine(r.note)})`)
      : r.note.startsWith(r.status)
      ? firstLine(r.note)
      : `${r.status}: ${firstLine(r.note)}`,
  ]);
  return table(header, lines);
}

/** Ratios between scenarios for each runtime and concurrency; "-" where a side is missing. */
export function ratioTable(rows: readonly Row[]): string {
  const find = (scenario: string, runtime: string, c: number) =>
    rows.find((r) => r.scenario === scenario && r.runtime === runtime && r.concurrency === c && r.result);
  const keys = [...new Set(rows.map((r) => `${r.runtime}\u0000${r.concurrency}`))];
  const lines: string[][] = [];
  const missing = new Set<string>();
  for (const ratio of RATIOS) {
    for (const key of keys) {
      const [runtime = "", c = "0"] = key.split("\u0000");
      const num = find(ratio.num, runtime, Number(c));
      const den = find(ratio.den, runtime, Number(c));
      if (num === undefined || den === undefined) {
        // worth a note only when both sides were in the run: a scenario left out is no failure
        const ran = (scenario: string) => rows.some((r) => r.scenario === scenario && r.runtime === runtime);
        if (ran(ratio.num) && ran(ratio.den)) missing.add(`${ratio.name} on ${runtime}`);
        continue;
      }
      const div = (a: number | undefined, b: number | undefined) =>
        a === undefined || b === undefined || b === 0 ? undefined : a / b;
      lines.push([
        ratio.name,
        runtime,
        c,
        fmt(div(num.result?.reqPerSec, den.result?.reqPerSec), 2),
        fmt(div(num.result?.p50Us, den.result?.p50Us), 2),
        fmt(div(num.result?.p99Us, den.result?.p99Us), 2),
        fmt(div(serverCpu(num), serverCpu(den)), 2),
      ]);
    }
  }
  let out = table(["ratio", "runtime", "c", "req/s", "p50", "p99", "server CPU/req"], lines);
  if (lines.length === 0) out = "(no ratio: every pair has a side skipped or failed)";
  return missing.size === 0
    ? out
    : `${out}\n\nnot computed (a side skipped or failed): ${[...missing].join(", ")}`;
}
