import type { InstanceEntry } from "../registry/mod.ts";

/** The strategies, by config name. */
export type BalancerName = "queue" | "round-robin" | "weighted" | "least-pending" | "latency";

/** What a pick may look at besides the instances. Reused across requests: no allocation per pick. */
export interface BalanceContext {
  /** Milliseconds since the epoch. */
  now: number;
  /** A uniform number in [0, 1); injectable so tests are deterministic. */
  random: () => number;
  /** An instance not to pick this time (a retry's failed one), unless it is the only one left. */
  avoid?: InstanceEntry | undefined;
}

/**
 * Chooses the instance for one request among one version's live instances.
 * Returns `undefined` to let NATS choose (send to the version's queue subject): always for
 * `queue`, and for the others when no instance is available.
 */
export interface Balancer {
  readonly name: BalancerName;
  pick(instances: readonly InstanceEntry[], ctx: BalanceContext): InstanceEntry | undefined;
}

/** Takes traffic: not draining, not ejected, not reporting unhealthy, not the one to avoid. */
export function isAvailable(instance: InstanceEntry, ctx: BalanceContext): boolean {
  return !instance.draining && instance.ejectedUntil <= ctx.now && instance.health !== "unhealthy" && instance !== ctx.avoid;
}

/** How many of `instances` are available. */
export function countAvailable(instances: readonly InstanceEntry[], ctx: BalanceContext): number {
  let n = 0;
  for (let i = 0; i < instances.length; i++) if (isAvailable(instances[i]!, ctx)) n++;
  return n;
}

/** The `k`-th available instance (0-based), without building a filtered array. */
export function nthAvailable(instances: readonly InstanceEntry[], k: number, ctx: BalanceContext): InstanceEntry | undefined {
  for (let i = 0; i < instances.length; i++) {
    const instance = instances[i]!;
    if (isAvailable(instance, ctx) && k-- === 0) return instance;
  }
  return undefined;
}
