import type { BalancingSettings, PluginVersionRule } from "../balancing/mod.ts";
import type { PluginBalancing } from "../balancing/mod.ts";
import type { PluginResilience, PolicySettings } from "../resilience/mod.ts";

/** One plugin's entry as the pipeline reads it: policies, balancing, version rules. */
export type PipelinePluginSettings = PluginResilience & PluginBalancing & PluginVersionRule;

/**
 * What a {@linkcode RequestPipeline} is built from: an immutable slice of the config. A reload
 * passes a new one to `reconfigure()`; nothing is changed in place.
 */
export interface PipelineSettings extends PolicySettings, BalancingSettings {
  readonly plugins: Readonly<Record<string, PipelinePluginSettings>>;
}
