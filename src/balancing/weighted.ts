import type { InstanceEntry } from "../registry/mod.ts";
import { isAvailable } from "./types.ts";
import type { BalanceContext, Balancer } from "./types.ts";

/**
 * `weighted`: random, in proportion to each instance's weight (config `plugins.<name>.weights`
 * by instance id, else the instance's `sy.weight` metadata, else 1).
 */
export function createWeightedBalancer(options: { weights?: Readonly<Record<string, number>> } = {}): Balancer {
  const weights = options.weights ?? {};
  const weightOf = (instance: InstanceEntry): number => weights[instance.id] ?? instance.weight;
  return {
    name: "weighted",
    pick(instances: readonly InstanceEntry[], ctx: BalanceContext) {
      let total = 0;
      for (let i = 0; i < instances.length; i++) {
        const instance = instances[i]!;
        if (isAvailable(instance, ctx)) total += weightOf(instance);
      }
      if (total <= 0) return undefined;
      let point = ctx.random() * total;
      let last: InstanceEntry | undefined;
      for (let i = 0; i < instances.length; i++) {
        const instance = instances[i]!;
        if (!isAvailable(instance, ctx)) continue;
        last = instance;
        point -= weightOf(instance);
        if (point < 0) return instance;
      }
      return last; // rounding
    },
  };
}
