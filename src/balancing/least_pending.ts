import type { InstanceEntry } from "../registry/mod.ts";
import { pickOfTwo } from "./_two_choices.ts";
import type { BalanceContext, Balancer } from "./types.ts";

/** A new instance ramps up over this long. @default 2000 */
export const DEFAULT_SLOW_START_MS = 2_000;

/** Options of {@linkcode createLeastPendingBalancer}. */
export interface LeastPendingOptions {
  /** A new instance looks busier than it is for this long, so a cold one is not flooded. @default 2000 */
  slowStartMs?: number;
}

/**
 * `least-pending`: power of two choices on the requests each instance has pending (counted from
 * dispatch to reply). During slow start an instance's load is scaled up, from 10× down to 1×.
 */
export function createLeastPendingBalancer(options: LeastPendingOptions = {}): Balancer {
  const slowStartMs = options.slowStartMs ?? DEFAULT_SLOW_START_MS;
  const score = (instance: InstanceEntry, now: number): number => {
    const age = now - instance.joinedAt;
    if (slowStartMs <= 0 || age >= slowStartMs) return instance.pending;
    const ramp = 0.1 + 0.9 * Math.max(0, age) / slowStartMs;
    return (instance.pending + 1) / ramp - 1;
  };
  return {
    name: "least-pending",
    pick: (instances: readonly InstanceEntry[], ctx: BalanceContext) => pickOfTwo(instances, ctx, score),
  };
}
