/**
 * Starting and stopping plugin processes.
 * @module
 */
export { startPluginProcess } from "./plugin_process.ts";
export { findPlugins } from "./find_plugins.ts";
export type { PluginProcess, PluginProcessSpec } from "./plugin_process.ts";
export type { PluginFolder } from "./find_plugins.ts";
