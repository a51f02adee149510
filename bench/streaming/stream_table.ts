/** The streaming benchmark's results as a markdown table: each runtime's floor, then switchyard against it. */
import type { StreamRow } from "./stream_run.ts";

const HEADER = [
  "runtime",
  "path",
  "items",
  "ms",
  "items/s",
  "CPU µs/item: router / sub",
  "plugin / pub",
  "nats",
  "servers Σ",
  "client",
  "× floor items/s",
  "× floor CPU Σ",
  "others' cores",
  "status",
];

const int = (x: number | undefined) => x === undefined || !Number.isFinite(x) ? "-" : Math.round(x).toLocaleString("en-US");
const two = (x: number | undefined) => x === undefined || !Number.isFinite(x) ? "-" : x.toFixed(2);
const sum = (r: StreamRow) => r.cpuUsPerItem === undefined ? undefined : r.cpuUsPerItem.front + r.cpuUsPerItem.back + r.cpuUsPerItem.nats;

/** One line per path and runtime; the switchyard line's ratios are against the same runtime's floor. */
export function streamingTable(rows: readonly StreamRow[]): string {
  const lines = [`| ${HEADER.join(" | ")} |`, `| ${HEADER.map((_, i) => i < 2 || i === HEADER.length - 1 ? "---" : "---:").join(" | ")} |`];
  for (const r of rows) {
    const floor = rows.find((f) => f.runtime === r.runtime && f.path === "floor" && f.status === "ok");
    const against = r.path === "switchyard" && floor !== undefined && r.status === "ok";
    const c = r.cpuUsPerItem;
    lines.push(`| ${
      [
        r.runtime,
        r.path,
        int(r.items),
        int(r.ms),
        int(r.itemsPerS),
        two(c?.front),
        two(c?.back),
        two(c?.nats),
        two(sum(r)),
        two(c?.client),
        against ? two(floor.itemsPerS! / r.itemsPerS!) : "-",
        against ? two(sum(r)! / sum(floor)!) : "-",
        two(r.otherCores),
        r.status === "ok" ? "ok" : r.note.replaceAll("|", "/").replaceAll("\n", " "),
      ].join(" | ")
    } |`);
  }
  return lines.join("\n");
}
