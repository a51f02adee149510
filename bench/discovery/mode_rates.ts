/**
 * One discovery mode's steady-state cost per second, as the comparison of the modes reads it:
 * messages and bytes on the bus (in + out at nats-server), and router CPU in % of one core.
 * @module
 */
import { FULL_ROLL_CALL_EVERY } from "../../src/registry/discovery.ts";
import type { WindowMeasure } from "./window_sample.ts";

/** A mode's steady-state rates. */
export interface ModeRates {
  msgsPerS: number;
  bytesPerS: number;
  /** Router CPU, % of one core: mean and max over the routers. */
  routerCpuPct: { mean: number; max: number };
  /** What the window's figures were multiplied by (1: measured as they are). */
  factor: number;
}

/**
 * A poll window holds whole polls: its rates are the steady state. An announce window is one roll
 * call period (each router's roll call in it once), but every {@link FULL_ROLL_CALL_EVERY}th roll
 * call also broadcasts `$SRV.PING`, which a window of minutes seldom holds: a broadcast costs what a
 * roll call does (every instance answers once, ~250 bytes; the router reads each answer), so the
 * amortised cost is the window's, per roll call, × (1 + 1/5) over the window's share of broadcasts.
 * The router's idle CPU is scaled too, so its CPU share errs high. `NaN` when an announce window
 * holds no roll call (nothing to amortise: a window shorter than the period).
 */
export function modeRates(mode: string, w: WindowMeasure): ModeRates {
  const full = 1 / FULL_ROLL_CALL_EVERY;
  const factor = mode !== "announce"
    ? 1
    : w.rollCalls === 0
    ? Number.NaN
    : (1 + full) / (1 + Math.min(w.polls, w.rollCalls) / w.rollCalls);
  const cores = w.routerCores;
  const mean = cores.length === 0 ? Number.NaN : cores.reduce((a, b) => a + b, 0) / cores.length;
  return {
    msgsPerS: (w.inMsgsPerS + w.outMsgsPerS) * factor,
    bytesPerS: (w.inBytesPerS + w.outBytesPerS) * factor,
    routerCpuPct: {
      mean: mean * 100 * factor,
      max: (cores.length === 0 ? Number.NaN : Math.max(...cores)) * 100 * factor,
    },
    factor,
  };
}
