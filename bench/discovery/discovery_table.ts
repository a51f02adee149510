/** The discovery benchmark's results as a markdown table, one row per mode × N × R. */
import type { DiscoveryRow } from "./discovery_run.ts";
import { modeRates } from "./mode_rates.ts";

const HEADER = [
  "mode (every)",
  "runtime",
  "N",
  "R",
  "window s",
  "broadcasts / roll calls",
  "msgs/s in / out",
  "KiB/s in / out",
  "amortised msgs/s / KiB/s",
  "router CPU % mean / max",
  "router RSS MiB",
  "sim CPU %",
  "nats CPU %",
  "known (min)",
  "dropped / joined",
  "new router: ready ms",
  "new router: first look ms",
  "new router: all known ms",
  "new router: look → all known ms",
  "new router: CPU ms",
  "others' cores",
  "status",
];
const RIGHT = new Set(HEADER.slice(2, -1));

const int = (x: number | undefined) =>
  x === undefined || !Number.isFinite(x) ? "-" : Math.round(x).toLocaleString("en-US");
const one = (x: number | undefined) => x === undefined || !Number.isFinite(x) ? "-" : x.toFixed(1);
const two = (x: number | undefined) => x === undefined || !Number.isFinite(x) ? "-" : x.toFixed(2);
/** A note as one table cell: a process's quoted output lines (`    | …`) joined, no stray `|`. */
const oneLine = (note: string) =>
  note.split("\n").map((l) => l.replace(/^\s*\|\s?/, "").trim()).join(" ").replaceAll("|", "/");
const pair = (a: string, b: string) => a === "-" && b === "-" ? "-" : `${a} / ${b}`;

/** The time from a new router's first look to knowing every instance, when both were seen. */
export function lookToAllKnownMs(row: DiscoveryRow): number | undefined {
  const join = row.join;
  if (join?.reached === undefined || join.firstLookMs === undefined) return undefined;
  return Math.max(0, join.reached.ms - join.firstLookMs);
}

/**
 * Markdown. Rates are per second over the window (in + out at nats-server for the amortised ones,
 * see `mode_rates.ts`); CPU % is of one core, as measured in the window; "others' cores" is what the
 * rest of the machine used meanwhile.
 */
export function discoveryTable(rows: readonly DiscoveryRow[]): string {
  const lines = [
    `| ${HEADER.join(" | ")} |`,
    `| ${HEADER.map((h) => RIGHT.has(h) ? "---:" : "---").join(" | ")} |`,
  ];
  for (const row of rows) {
    const w = row.window;
    const rates = w === undefined ? undefined : modeRates(row.mode, w);
    const cores = w?.routerCores ?? [];
    const pct = (x: number | undefined) => x === undefined ? "-" : two(x * 100);
    const cells = [
      `${row.mode} (${row.periodMs / 1000} s)`,
      row.runtime,
      int(row.instances),
      int(row.routers),
      one(w?.seconds),
      pair(int(w?.polls), int(w?.rollCalls)),
      pair(int(w?.inMsgsPerS), int(w?.outMsgsPerS)),
      pair(int(w && w.inBytesPerS / 1024), int(w && w.outBytesPerS / 1024)),
      pair(int(rates?.msgsPerS), int(rates && rates.bytesPerS / 1024)),
      cores.length === 0
        ? "-"
        : pair(pct(cores.reduce((a, b) => a + b, 0) / cores.length), pct(Math.max(...cores))),
      one(row.routerRssMiB),
      pct(w?.simCores),
      pct(w?.natsCores),
      row.knownMin === undefined ? "-" : `${int(row.knownMin)}/${int(row.instances)}`,
      row.churn === undefined ? "-" : pair(int(row.churn.dropped), int(row.churn.joined)),
      int(row.join?.readyMs),
      int(row.join?.firstLookMs),
      int(row.join?.reached?.ms),
      int(lookToAllKnownMs(row)),
      int(row.join?.reached?.cpuMs),
      w === undefined ? "-" : w.otherCores.toFixed(2),
      row.note === "" ? row.status : `${row.status}: ${oneLine(row.note)}`,
    ];
    lines.push(`| ${cells.join(" | ")} |`);
  }
  return lines.join("\n");
}
