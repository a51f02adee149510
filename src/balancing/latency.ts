import type { InstanceEntry } from "../registry/mod.ts";
import { pickOfTwo } from "./_two_choices.ts";
import type { BalanceContext, Balancer } from "./types.ts";

/** Weight of the newest sample in the latency EWMA. */
export const EWMA_ALPHA = 0.2;

/** Folds one latency sample (ms) into an instance's EWMA. */
export function recordLatency(instance: InstanceEntry, ms: number): void {
  instance.ewmaMs = instance.ewmaMs === 0 ? ms : instance.ewmaMs + EWMA_ALPHA * (ms - instance.ewmaMs);
}

/**
 * `latency`: power of two choices on expected wait, EWMA latency × (pending + 1). An instance
 * with no sample yet scores 0, so new instances get tried.
 */
export function createLatencyBalancer(): Balancer {
  const score = (instance: InstanceEntry): number => instance.ewmaMs * (instance.pending + 1);
  return {
    name: "latency",
    pick: (instances: readonly InstanceEntry[], ctx: BalanceContext) => pickOfTwo(instances, ctx, score),
  };
}
