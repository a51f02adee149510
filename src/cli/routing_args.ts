import type { ResolvedConfig } from "../config/mod.ts";
import { pipelineSettings } from "../config/mod.ts";
import type { PipelineSettings } from "../pipeline/mod.ts";
import type { PluginSpec } from "../supervisor/mod.ts";

/** The keys of `plugins.<name>` that steer how a caller reaches that plugin. */
const ROUTING_KEYS = ["timeoutMs", "retry", "breaker", "bulkhead", "rateLimit", "methods", "version", "canary", "balancer", "weights"] as const;

/**
 * `spec` with `--routing`: how its `ctx.call`s route, from the same config the router reads, cut to
 * what it needs: the defaults, and the rules of the plugins its manifest `requires` (never other
 * plugins' modules, environments or credentials). A change to those rules replaces its instances.
 */
export function withRouting(spec: PluginSpec, config: ResolvedConfig): PluginSpec {
  const callees = Object.keys(spec.requires);
  // The supervisor's region is its instances' (their environment holds no SWITCHYARD_*).
  if (config.region !== undefined) spec = { ...spec, args: [...spec.args, "--region", config.region] };
  if (callees.length === 0) return spec;
  const all = pipelineSettings(config);
  const plugins: Record<string, Record<string, unknown>> = {};
  for (const name of callees) {
    const entry = config.plugins[name] as Record<string, unknown> | undefined;
    if (entry === undefined) continue;
    const rules = Object.fromEntries(ROUTING_KEYS.filter((k) => entry[k] !== undefined).map((k) => [k, entry[k]]));
    if (Object.keys(rules).length > 0) plugins[name] = rules;
  }
  const routing: PipelineSettings = { timeoutMs: all.timeoutMs, resilience: all.resilience, balancing: all.balancing, plugins };
  return { ...spec, args: [...spec.args, "--routing", JSON.stringify(routing)] };
}
