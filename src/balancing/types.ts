import type { InstanceEntry } from "../registry/mod.ts";

/** The strategies, by config name. */
export type BalancerName = "queue" | "round-robin" | "weighted" | "least-pending" | "latency";

/** What a pick may look at besides the instances. Reused across requests: no allocation per pick. */
export interface BalanceContext {
  /** Milliseconds since the epoch. */
  now: number;
  /** A uniform number in [0, 1); injectable so tests are deterministic. */
  random: () => number;
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

/** Takes traffic: not draining, not ejected, not reporting unhealthy. */
export function isAvailable(instance: InstanceEntry, now: number): boolean {
  return !instance.draining && instance.ejectedUntil <= now && instance.health !== "unhealthy";
}

/** How many of `instances` are available. */
export function countAvailable(instances: readonly InstanceEntry[], now: number): number {
  let n = 0;
  for (let i = 0; i < instances.length; i++) if (isAvailable(instances[i]!, now)) n++;
  return n;
}

/** The `k`-th available instance (0-based), without building a filtered array. */
export function nthAvailable(instances: readonly InstanceEntry[], k: number, now: number): InstanceEntry | undefined {
  for (let i = 0; i < instances.length; i++) {
    const instance = instances[i]!;
    if (isAvailable(instance, now) && k-- === 0) return instance;
  }
  return undefined;
}
