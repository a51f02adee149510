import * as v from "valibot";

export const DEFAULT_DISCOVERY_INTERVAL_MS = 5_000;
export const DEFAULT_ROLL_CALL_MS = 60_000;

const Millis = v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(3_600_000));

/**
 * `discovery`: how a router keeps track of instances between their events (docs/scale-out.md).
 * `announce` (default): instances announce changes, a roll call every `rollCallMs`; `poll`: also
 * each instance's STATS every `intervalMs`, for plugins that do not announce their health.
 */
export const DiscoveryOptionsSchema = v.strictObject({
  /** @default "announce" */
  mode: v.optional(v.picklist(["announce", "poll"]), "announce"),
  /** `poll`: how often each instance is asked. @default 5000 */
  intervalMs: v.optional(Millis, DEFAULT_DISCOVERY_INTERVAL_MS),
  /** `announce`: how often each plugin's instances are counted. @default 60000 */
  rollCallMs: v.optional(Millis, DEFAULT_ROLL_CALL_MS),
});
export type ResolvedDiscoveryOptions = v.InferOutput<typeof DiscoveryOptionsSchema>;
