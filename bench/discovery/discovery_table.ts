/** The discovery benchmark's results as a markdown table, one row per N × R. */
import type { DiscoveryRow } from "./discovery_run.ts";

const HEADER = [
  "mode (interval)",
  "runtime",
  "N",
  "R",
  "window s",
  "polls",
  "s between polls",
  "msgs/s in / out",
  "KiB/s in / out",
  "msgs/poll",
  "KiB/poll",
  "router CPU ms/poll",
  "router CPU % mean / max",
  "router RSS MiB",
  "sim CPU %",
  "nats CPU %",
  "known (min)",
  "dropped / joined",
  "new router: ready ms",
  "new router: all known ms",
  "new router: CPU ms",
  "others' cores",
  "status",
];
const RIGHT = new Set(HEADER.slice(2, -1));

const int = (x: number | undefined) =>
  x === undefined || !Number.isFinite(x) ? "-" : Math.round(x).toLocaleString("en-US");
const one = (x: number | undefined) => x === undefined || !Number.isFinite(x) ? "-" : x.toFixed(1);
const pct = (cores: number | undefined) => cores === undefined ? "-" : one(cores * 100);
/** A note as one table cell: a process's quoted output lines (`    | …`) joined, no stray `|`. */
const oneLine = (note: string) =>
  note.split("\n").map((l) => l.replace(/^\s*\|\s?/, "").trim()).join(" ").replaceAll("|", "/");
const pair = (a: string, b: string) => a === "-" && b === "-" ? "-" : `${a} / ${b}`;

/**
 * Markdown. CPU % is of one core; "others' cores" is what the rest of the machine used meanwhile;
 * per-poll figures divide the window's totals by the routers' polls in it.
 */
export function discoveryTable(rows: readonly DiscoveryRow[]): string {
  const lines = [
    `| ${HEADER.join(" | ")} |`,
    `| ${HEADER.map((h) => RIGHT.has(h) ? "---:" : "---").join(" | ")} |`,
  ];
  for (const row of rows) {
    const w = row.window;
    const cores = w?.routerCores ?? [];
    const mean = cores.length === 0 ? undefined : cores.reduce((a, b) => a + b, 0) / cores.length;
    const cells = [
      `${row.mode} (${row.intervalMs / 1000} s)`,
      row.runtime,
      int(row.instances),
      int(row.routers),
      one(w?.seconds),
      int(w?.polls),
      one(w?.pollPeriodS),
      pair(int(w?.inMsgsPerS), int(w?.outMsgsPerS)),
      pair(int(w && w.inBytesPerS / 1024), int(w && w.outBytesPerS / 1024)),
      int(w?.msgsPerPoll),
      int(w && w.bytesPerPoll / 1024),
      int(w?.routerCpuMsPerPoll),
      pair(pct(mean), pct(cores.length === 0 ? undefined : Math.max(...cores))),
      one(row.routerRssMiB),
      pct(w?.simCores),
      pct(w?.natsCores),
      row.knownMin === undefined ? "-" : `${int(row.knownMin)}/${int(row.instances)}`,
      row.churn === undefined ? "-" : pair(int(row.churn.dropped), int(row.churn.joined)),
      int(row.join?.readyMs),
      int(row.join?.reached?.ms),
      int(row.join?.reached?.cpuMs),
      w === undefined ? "-" : w.otherCores.toFixed(2),
      row.note === "" ? row.status : `${row.status}: ${oneLine(row.note)}`,
    ];
    lines.push(`| ${cells.join(" | ")} |`);
  }
  return lines.join("\n");
}
