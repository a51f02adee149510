/**
 * Starting and stopping plugin processes.
 * @module
 */
export { startPluginProcess } from "./plugin_process.ts";
export { findPlugins, readManifest } from "./find_plugins.ts";
export { orderByRequirements } from "./plugin_order.ts";
export type { PluginProcess, PluginProcessSpec } from "./plugin_process.ts";
export type { PluginFolder, PluginManifest } from "./find_plugins.ts";
