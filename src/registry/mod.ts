/**
 * The router's live view of plugins, versions and instances, fed by NATS micro discovery.
 * @module
 */
export { KNOWN_PROTOCOLS, REGION_NAME, Registry } from "./registry.ts";
export { degradationsOf } from "./degradations.ts";
export { startDiscovery } from "./discovery.ts";
export { DEFAULT_DISCOVERY_INTERVAL_MS, DEFAULT_ROLL_CALL_MS, DiscoveryOptionsSchema } from "./options.ts";
export type { ResolvedDiscoveryOptions } from "./options.ts";
export { createInputValidator } from "./input_validator.ts";
export type { InstanceEntry, MethodEntry, PluginEntry, Refusal, VersionEntry } from "./registry.ts";
export type { Degradation } from "./degradations.ts";
export type { Discovery, DiscoveryMode, DiscoveryOptions } from "./discovery.ts";
export type { InputValidator } from "./input_validator.ts";
