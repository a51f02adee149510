/** The discovery benchmark's results as a markdown table, one row per N × R. */
import type { DiscoveryRow } from "./discovery_run.ts";

const HEADER = [
  "mode (interval)",
  "runtime",
  "N",
  "R",
  "window s",
  "polls",
  "msgs/s in",
  "msgs/s out",
  "KiB/s in",
  "KiB/s out",
  "msgs/poll",
  "KiB/poll",
  "router CPU % (mean)",
  "router CPU % (max)",
  "router RSS MiB",
  "sim CPU %",
  "nats CPU %",
  "known (min)",
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

/** Markdown; CPU % is of one core, "others' cores" what the rest of the machine used meanwhile. */
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
      int(w?.inMsgsPerS),
      int(w?.outMsgsPerS),
      int(w === undefined ? undefined : w.inBytesPerS / 1024),
      int(w === undefined ? undefined : w.outBytesPerS / 1024),
      int(w?.msgsPerPoll),
      int(w === undefined ? undefined : w.bytesPerPoll / 1024),
      pct(mean),
      pct(cores.length === 0 ? undefined : Math.max(...cores)),
      one(row.routerRssMiB),
      pct(w?.simCores),
      pct(w?.natsCores),
      row.knownMin === undefined ? "-" : `${int(row.knownMin)}/${int(row.instances)}`,
      int(row.join?.readyMs),
      int(row.join?.reached?.ms),
      int(row.join?.reached?.cpuMs),
      w === undefined ? "-" : w.otherCores.toFixed(2),
      row.note === "" ? row.status : `${row.status}: ${row.note}`,
    ];
    lines.push(`| ${cells.join(" | ")} |`);
  }
  return lines.join("\n");
}
