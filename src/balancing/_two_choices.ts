import type { InstanceEntry } from "../registry/mod.ts";
import { countAvailable, nthAvailable } from "./types.ts";
import type { BalanceContext } from "./types.ts";

/**
 * Power of two choices: two distinct random available instances, the one with the lower `score`
 * wins (ties go to the first). With one available instance, that one.
 */
export function pickOfTwo(
  instances: readonly InstanceEntry[],
  ctx: BalanceContext,
  score: (instance: InstanceEntry, now: number) => number,
): InstanceEntry | undefined {
  const n = countAvailable(instances, ctx);
  if (n <= 1) return n === 1 ? nthAvailable(instances, 0, ctx) : undefined;
  const a = Math.floor(ctx.random() * n);
  let b = Math.floor(ctx.random() * (n - 1));
  if (b >= a) b++;
  const first = nthAvailable(instances, a, ctx)!;
  const second = nthAvailable(instances, b, ctx)!;
  return score(second, ctx.now) < score(first, ctx.now) ? second : first;
}
