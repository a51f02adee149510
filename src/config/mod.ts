/**
 * The configuration file: valibot schema with named defaults, JSON or YAML, env overrides.
 * @module
 */
export { ConfigError, loadConfig, parseConfigText, readConfigFile, resolveConfig } from "./load_config.ts";
export { ConfigSchema, DEFAULT_DISCOVERY_INTERVAL_MS, PluginPolicySchema } from "./schema.ts";
export { DEFAULT_BODY_LIMIT_BYTES, DEFAULT_DRAIN_TIMEOUT_MS, DEFAULT_HOST, DEFAULT_PORT } from "../router/options.ts";
export type { Config, PluginPolicy, ResolvedConfig } from "./schema.ts";
export { DEFAULT_TIMEOUT_MS, ResilienceSchema } from "../resilience/options.ts";
export type { MethodPolicy, ResolvedResilience } from "../resilience/options.ts";
export { pipelineSettings } from "./slices.ts";
export { ConfigWatcher } from "./config_watcher.ts";
export type { ConfigConsumer, ConfigWatcherOptions, ConsumerResult, ReloadOutcome } from "./config_watcher.ts";
export { isSupervisorPath, SUPERVISOR_PLUGIN_KEYS } from "./config_paths.ts";
export { diffConfig, isUnder } from "../diff.ts";
