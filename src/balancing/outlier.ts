import type { InstanceEntry } from "../registry/mod.ts";
import type { ResolvedOutlierOptions } from "./options.ts";

/**
 * Outlier ejection: `consecutiveFailures` failures in a row take an instance out of rotation for
 * `baseEjectionMs × (number of its ejections)`, capped at `maxEjectionMs`, unless that would put
 * more than `maxEjectionPercent` of its version out. It comes back by itself when the time is up.
 * State lives on the {@linkcode InstanceEntry}, so this object holds only the policy.
 */
export class OutlierDetector {
  readonly #options: ResolvedOutlierOptions;

  constructor(options: ResolvedOutlierOptions) {
    this.#options = options;
  }

  /** A reply that was not a 5xx. */
  success(instance: InstanceEntry): void {
    instance.failures = 0;
  }

  /**
   * A 5xx, a timeout or no-responders. `peers` are the instance's version's instances.
   * @param force eject now whatever the count and the share already out (the instance is gone:
   * nobody listens on its subject, so keeping it in rotation helps no one).
   * @returns true when this failure ejected it.
   */
  failure(instance: InstanceEntry, peers: readonly InstanceEntry[], now: number, force = false): boolean {
    instance.failures++;
    const { consecutiveFailures, baseEjectionMs, maxEjectionMs, maxEjectionPercent } = this.#options;
    if (consecutiveFailures === 0 || instance.ejectedUntil > now) return false;
    if (!force && instance.failures < consecutiveFailures) return false;
    if (!force) {
      let out = 1;
      for (let i = 0; i < peers.length; i++) if (peers[i] !== instance && peers[i]!.ejectedUntil > now) out++;
      if ((out * 100) / Math.max(1, peers.length) > maxEjectionPercent) return false;
    }
    instance.ejections++;
    instance.ejectedUntil = now + Math.min(baseEjectionMs * instance.ejections, maxEjectionMs);
    instance.failures = 0;
    return true;
  }
}
