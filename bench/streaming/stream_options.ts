/**
 * Options of the `streaming` benchmark group: how many items one stream carries, how many warm the
 * processes up first, and the bound on one measured stream.
 * @module
 */

/** The scenario-group name: `npm run bench -- --scenarios streaming`. */
export const STREAMING_GROUP = "streaming";

export interface StreamingArgs {
  /** Items of the measured stream (and of the floor's run). */
  items: number;
  /** Items of one stream before it, not measured (JIT, connections). */
  warmupItems: number;
  /** A measured stream (or warm-up) that takes longer fails its row. */
  capS: number;
}

/** A full run: 200,000 items, under 2 s at the rates measured on a busy 2-core VM. */
export const DEFAULT_STREAMING: StreamingArgs = { items: 200_000, warmupItems: 20_000, capS: 60 };
/** `bench:smoke` checks the harness: a small stream, on each runtime. */
export const SMOKE_STREAMING: StreamingArgs = { items: 5_000, warmupItems: 1_000, capS: 20 };

/** Reads `--stream-items N` (the warm-up is a tenth of it); the rest follows the mode. */
export function parseStreamingArgs(items: string | undefined, smoke: boolean): StreamingArgs {
  const base = smoke ? SMOKE_STREAMING : DEFAULT_STREAMING;
  if (items === undefined) return base;
  const n = Number(items);
  if (!Number.isInteger(n) || n < 1 || n > 10_000_000) {
    throw new RangeError(`--stream-items must be an integer from 1 to 10000000, got "${items}"`);
  }
  return { ...base, items: n, warmupItems: Math.max(1, Math.floor(n / 10)) };
}
