import type { Registry } from "../registry/mod.ts";

/** Per-plugin version settings (from `plugins.<name>`). */
export interface PluginVersionRule {
  /** Semver range for requests without `x-plugin-version`. */
  version?: string | undefined;
  /** Canary split: range → weight, e.g. `{ "1.4.0": 90, "2.1.0": 10 }`. */
  canary?: Readonly<Record<string, number>> | undefined;
}

interface CompiledRule {
  range: string | undefined;
  canaryRanges: string[];
  canaryWeights: number[];
}

/**
 * The range a request without `x-plugin-version` asks for: the plugin's canary split (a weighted
 * random choice among the canary ranges that have a live version right now), else its `version`
 * rule, else `undefined` (the registry's default: the highest stable version).
 */
export class VersionRules {
  #rules = new Map<string, CompiledRule>();
  readonly #random: () => number;

  /** @param random uniform in [0, 1), injectable for tests. @default Math.random */
  constructor(plugins: Readonly<Record<string, PluginVersionRule>>, random: () => number = Math.random) {
    this.#random = random;
    this.reconfigure(plugins);
  }

  /** Replaces every rule (a config reload); the next request uses the new ones. */
  reconfigure(plugins: Readonly<Record<string, PluginVersionRule>>): void {
    const rules = new Map<string, CompiledRule>();
    for (const [name, rule] of Object.entries(plugins)) {
      if (rule.version === undefined && rule.canary === undefined) continue;
      const canary = Object.entries(rule.canary ?? {}).filter(([, w]) => w > 0);
      rules.set(name, {
        range: rule.version,
        canaryRanges: canary.map(([range]) => range),
        canaryWeights: canary.map(([, w]) => w),
      });
    }
    this.#rules = rules;
  }

  /** The range for one request to `plugin` without a version header. */
  rangeFor(registry: Registry, plugin: string): string | undefined {
    const rule = this.#rules.get(plugin);
    if (rule === undefined) return undefined;
    const ranges = rule.canaryRanges;
    if (ranges.length === 0) return rule.range;
    let total = 0;
    for (let i = 0; i < ranges.length; i++) if (registry.pick(plugin, ranges[i]!)) total += rule.canaryWeights[i]!;
    if (total === 0) return rule.range;
    let point = this.#random() * total;
    let last: string | undefined;
    for (let i = 0; i < ranges.length; i++) {
      if (!registry.pick(plugin, ranges[i]!)) continue;
      last = ranges[i]!;
      point -= rule.canaryWeights[i]!;
      if (point < 0) return last;
    }
    return last;
  }
}
