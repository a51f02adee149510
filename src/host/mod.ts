/**
 * The plugin host: serves one plugin module as a NATS service.
 * @module
 */
export { servePlugin } from "./host.ts";
export { loadPlugin } from "./load_plugin.ts";
export type { DrainOptions, PluginHost, ServePluginOptions } from "./host.ts";
