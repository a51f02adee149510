import type { InstanceEntry } from "../registry/mod.ts";
import { isAvailable } from "./types.ts";
import type { BalanceContext, Balancer } from "./types.ts";

/** `round-robin`: each available instance in turn. */
export function createRoundRobinBalancer(): Balancer {
  let next = 0;
  return {
    name: "round-robin",
    pick(instances: readonly InstanceEntry[], ctx: BalanceContext) {
      const n = instances.length;
      for (let tried = 0; tried < n; tried++) {
        const instance = instances[next++ % n]!;
        if (next >= 1 << 30) next = 0;
        if (isAvailable(instance, ctx)) return instance;
      }
      return undefined;
    },
  };
}
