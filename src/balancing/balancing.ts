import type { InstanceEntry, VersionEntry } from "../registry/mod.ts";
import { createLatencyBalancer } from "./latency.ts";
import { createLeastPendingBalancer } from "./least_pending.ts";
import { OutlierDetector } from "./outlier.ts";
import { createQueueBalancer } from "./queue.ts";
import { createRoundRobinBalancer } from "./round_robin.ts";
import { createWeightedBalancer } from "./weighted.ts";
import type { Locality, ResolvedBalancingOptions } from "./options.ts";
import type { BalanceContext, Balancer, BalancerName } from "./types.ts";

/** Per-plugin balancing settings (from `plugins.<name>`). */
export interface PluginBalancing {
  balancer?: BalancerName | undefined;
  weights?: Readonly<Record<string, number>> | undefined;
  locality?: Locality | undefined;
}

/** What {@linkcode Balancing} is built from: a slice of the config, replaced whole on a reload. */
export interface BalancingSettings {
  readonly balancing: ResolvedBalancingOptions;
  /** Per-plugin strategy and weights (`plugins.<name>`); extra keys are ignored. */
  readonly plugins: Readonly<Record<string, PluginBalancing>>;
  /** This router's region: with one, instances of it are preferred (see `locality`). */
  readonly region?: string | undefined;
}

/** {@linkcode Balancing.pick}'s answer when only other regions have instances and the plugin is `local-only`. */
export const NONE_LOCAL = null;
const EMPTY: InstanceEntry[] = [];

/** Creates the named strategy. */
export function createBalancer(
  name: BalancerName,
  options: { slowStartMs?: number; weights?: Readonly<Record<string, number>> | undefined } = {},
): Balancer {
  switch (name) {
    case "queue":
      return createQueueBalancer();
    case "round-robin":
      return createRoundRobinBalancer();
    case "weighted":
      return createWeightedBalancer(options.weights === undefined ? {} : { weights: options.weights });
    case "least-pending":
      return createLeastPendingBalancer(options.slowStartMs === undefined ? {} : { slowStartMs: options.slowStartMs });
    case "latency":
      return createLatencyBalancer();
  }
}

/**
 * Which instance of a version takes a request: each plugin's strategy, and the outlier policy.
 * It only picks; the request pipeline sends, and tells it outcomes through {@linkcode Balancing.outliers}.
 * Per-instance state (pending, latency, ejections) lives on the registry's entries.
 */
export class Balancing {
  #balancers = new Map<string, Balancer>();
  #default!: Balancer;
  #outliers!: OutlierDetector;
  readonly #ctx: BalanceContext;
  /** The settings each strategy was built from, as JSON, so a reload keeps unchanged ones (and their state). */
  #keys = new Map<string, string>();
  #defaultKey = "";
  #outlierKey = "";
  #region = "";
  #defaultLocality: Locality = "prefer-local";
  #localities = new Map<string, Locality>();

  /** @param random uniform in [0, 1), injectable for tests. @default Math.random */
  constructor(settings: BalancingSettings, random: () => number = Math.random) {
    this.#ctx = { now: 0, random, avoid: undefined };
    this.reconfigure(settings);
  }

  /** The outlier policy: the pipeline reports each instance's successes and failures to it. */
  get outliers(): OutlierDetector {
    return this.#outliers;
  }

  /**
   * Applies new settings (a config reload). A strategy whose settings did not change is kept, with
   * its state (a round-robin position).
   */
  reconfigure(settings: BalancingSettings): void {
    const { balancing, plugins } = settings;
    const { slowStartMs } = balancing;
    const defaultKey = JSON.stringify([balancing.balancer, slowStartMs]);
    if (defaultKey !== this.#defaultKey) {
      this.#default = createBalancer(balancing.balancer, { slowStartMs });
      this.#defaultKey = defaultKey;
    }
    const outlierKey = JSON.stringify(balancing.outlier);
    if (outlierKey !== this.#outlierKey) {
      this.#outliers = new OutlierDetector(balancing.outlier);
      this.#outlierKey = outlierKey;
    }
    const balancers = new Map<string, Balancer>();
    const keys = new Map<string, string>();
    for (const [plugin, p] of Object.entries(plugins)) {
      if (p.balancer === undefined && p.weights === undefined) continue;
      const name = p.balancer ?? balancing.balancer;
      const key = JSON.stringify([name, slowStartMs, p.weights ?? null]);
      const kept = this.#keys.get(plugin) === key ? this.#balancers.get(plugin) : undefined;
      balancers.set(plugin, kept ?? createBalancer(name, { slowStartMs, weights: p.weights }));
      keys.set(plugin, key);
    }
    this.#balancers = balancers;
    this.#keys = keys;
    this.#region = settings.region ?? "";
    this.#defaultLocality = balancing.locality ?? "prefer-local";
    this.#localities = new Map(Object.entries(plugins).flatMap(([name, p]) => (p.locality === undefined ? [] : [[name, p.locality]])));
  }

  /** The strategy serving `plugin`. */
  balancerFor(plugin: string): Balancer {
    return this.#balancers.get(plugin) ?? this.#default;
  }

  /**
   * The instance of `version` to send to, avoiding `avoid` while another is available, and from
   * this router's region first (its plugin's `locality`); `undefined` leaves the choice to the NATS
   * queue group (the `queue` strategy, or none available: NATS too prefers members in its own
   * cluster); {@linkcode NONE_LOCAL} when the plugin is `local-only` and its region has none.
   */
  pick(plugin: string, version: VersionEntry, now: number, avoid?: InstanceEntry): InstanceEntry | undefined | typeof NONE_LOCAL {
    const strategy = this.balancerFor(plugin);
    const region = this.#region;
    if (region !== "") {
      const locality = this.#localities.get(plugin) ?? this.#defaultLocality;
      if (locality !== "any") {
        const local = version.liveByRegion.get(region) ?? EMPTY;
        const picked = this.#pickFrom(strategy, local, now, avoid);
        if (picked !== undefined) return picked;
        if (locality === "local-only") return strategy.name === "queue" ? undefined : NONE_LOCAL;
      }
    }
    return this.#pickFrom(strategy, version.live, now, avoid);
  }

  #pickFrom(strategy: Balancer, instances: readonly InstanceEntry[], now: number, avoid: InstanceEntry | undefined): InstanceEntry | undefined {
    const ctx = this.#ctx;
    ctx.now = now;
    ctx.avoid = avoid;
    const picked = strategy.pick(instances, ctx);
    if (picked !== undefined || avoid === undefined) return picked;
    ctx.avoid = undefined;
    return strategy.pick(instances, ctx);
  }
}
