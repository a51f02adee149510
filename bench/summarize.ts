/**
 * Folds repeated runs (`--repeat N`) into one row per scenario, runtime and concurrency: the run with
 * the median req/s, plus the req/s range over all successful runs.
 * @module
 */
import type { Row } from "./row.ts";

/** A representative row and how its repetitions spread. */
export interface Summary extends Row {
  runs: number;
  reqPerSecMin?: number;
  reqPerSecMax?: number;
}

/** One summary per (scenario, runtime, concurrency), in order of first appearance. */
export function summarize(rows: readonly Row[]): Summary[] {
  const groups = new Map<string, Row[]>();
  for (const r of rows) {
    const key = `${r.scenario}\u0000${r.runtime}\u0000${r.concurrency}`;
    const group = groups.get(key);
    if (group === undefined) groups.set(key, [r]);
    else group.push(r);
  }
  const out: Summary[] = [];
  for (const group of groups.values()) {
    const ok = group.filter((r) => r.status === "ok" && r.result !== undefined);
    const first = group[0]!;
    if (ok.length === 0) {
      out.push({ ...first, runs: group.length });
      continue;
    }
    const rates = ok.map((r) => r.result?.reqPerSec ?? 0);
    const sorted = [...ok].sort((a, b) => (a.result?.reqPerSec ?? 0) - (b.result?.reqPerSec ?? 0));
    const median = sorted[Math.floor((sorted.length - 1) / 2)]!;
    const failed = group.length - ok.length;
    out.push({
      ...median,
      note: failed > 0 ? `${failed} of ${group.length} runs failed` : median.note,
      runs: group.length,
      reqPerSecMin: Math.min(...rates),
      reqPerSecMax: Math.max(...rates),
    });
  }
  return out;
}
