/**
 * The two discovery modes side by side, per N × R measured in both, against the goals the announce
 * mode was built for: ≥ 20× less discovery traffic than polling, a router's discovery under 2 % of
 * a core, and a new router that knows every instance within 1 s of its first look.
 * @module
 */
import type { DiscoveryRow } from "./discovery_run.ts";
import { lookToAllKnownMs } from "./discovery_table.ts";
import { modeRates } from "./mode_rates.ts";
import type { ModeRates } from "./mode_rates.ts";

/** The announce mode's goals. */
export const GOALS = { trafficRatio: 20, routerCpuPct: 2, joinMs: 1_000 } as const;

/** One N × R measured in both modes. */
export interface ModeComparison {
  instances: number;
  routers: number;
  poll: ModeRates;
  announce: ModeRates;
  /** Poll's messages (bytes) per second / announce's. */
  msgsRatio: number;
  bytesRatio: number;
  /** A new router's first look → knows all, ms, per mode. */
  joinMs: { poll: number | undefined; announce: number | undefined };
  /** Per goal: met, missed, or not measured (`undefined`). */
  met: { traffic: boolean | undefined; cpu: boolean | undefined; join: boolean | undefined };
  /** Either row did not complete (its note says why). */
  incomplete: boolean;
}

/** Pairs each announce row with the poll row of the same N and R (both with a window). */
export function compareModes(rows: readonly DiscoveryRow[]): ModeComparison[] {
  const out: ModeComparison[] = [];
  for (const announce of rows) {
    if (announce.mode !== "announce" || announce.window === undefined) continue;
    const poll = rows.find((r) =>
      r.mode === "poll" && r.window !== undefined && r.instances === announce.instances &&
      r.routers === announce.routers
    );
    if (poll === undefined) continue;
    const p = modeRates("poll", poll.window!);
    const a = modeRates("announce", announce.window);
    const msgsRatio = p.msgsPerS / a.msgsPerS;
    const bytesRatio = p.bytesPerS / a.bytesPerS;
    const joinMs = { poll: lookToAllKnownMs(poll), announce: lookToAllKnownMs(announce) };
    const known = (x: number) => Number.isFinite(x) ? x : undefined;
    const traffic = known(Math.min(msgsRatio, bytesRatio));
    const cpu = known(a.routerCpuPct.max);
    out.push({
      instances: announce.instances,
      routers: announce.routers,
      poll: p,
      announce: a,
      msgsRatio,
      bytesRatio,
      joinMs,
      met: {
        traffic: traffic === undefined ? undefined : traffic >= GOALS.trafficRatio,
        cpu: cpu === undefined ? undefined : cpu < GOALS.routerCpuPct,
        join: joinMs.announce === undefined ? undefined : joinMs.announce < GOALS.joinMs,
      },
      incomplete: poll.status !== "ok" || announce.status !== "ok",
    });
  }
  return out;
}

const HEADER = [
  "N",
  "R",
  "msgs/s poll / announce",
  "× fewer msgs",
  "KiB/s poll / announce",
  "× fewer bytes",
  "router CPU % poll / announce (max)",
  "new router look → all known ms poll / announce",
  `traffic ≥ ${GOALS.trafficRatio}×`,
  `router CPU < ${GOALS.routerCpuPct} %`,
  `new router < ${GOALS.joinMs / 1000} s`,
];

const int = (x: number | undefined) =>
  x === undefined || !Number.isFinite(x) ? "-" : Math.round(x).toLocaleString("en-US");
const ratio = (x: number) => Number.isFinite(x) ? `${x.toFixed(1)}×` : "-";
const pct = (x: number) => Number.isFinite(x) ? x.toFixed(2) : "-";
const verdict = (met: boolean | undefined) => met === undefined ? "-" : met ? "met" : "**missed**";

/** Markdown, one line per N × R measured in both modes; "" when none was. */
export function comparisonTable(rows: readonly DiscoveryRow[]): string {
  const pairs = compareModes(rows);
  if (pairs.length === 0) return "";
  const lines = [
    `| ${HEADER.join(" | ")} |`,
    `| ${HEADER.map((_, i) => i < 8 ? "---:" : "---").join(" | ")} |`,
  ];
  for (const c of pairs) {
    const suffix = c.incomplete ? " (incomplete row)" : "";
    lines.push(`| ${
      [
        int(c.instances),
        int(c.routers),
        `${int(c.poll.msgsPerS)} / ${int(c.announce.msgsPerS)}`,
        ratio(c.msgsRatio),
        `${int(c.poll.bytesPerS / 1024)} / ${int(c.announce.bytesPerS / 1024)}`,
        ratio(c.bytesRatio),
        `${pct(c.poll.routerCpuPct.max)} / ${pct(c.announce.routerCpuPct.max)}`,
        `${int(c.joinMs.poll)} / ${int(c.joinMs.announce)}`,
        verdict(c.met.traffic) + suffix,
        verdict(c.met.cpu) + suffix,
        verdict(c.met.join) + suffix,
      ].join(" | ")
    } |`);
  }
  return lines.join("\n");
}
