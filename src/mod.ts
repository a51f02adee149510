/**
 * Switchyard as a library: the pieces the `switchyard` command wires together, for embedding the
 * router or a plugin host in a program of your own. Plugin authors import `switchyard/plugin`;
 * test authors `switchyard/testing`.
 *
 * @example
 * ```ts
 * import { connectBus, createRouter, defaultDeps, loadConfig, Registry, RequestMux, startDiscovery } from "switchyard";
 *
 * const config = loadConfig(undefined, process.env);
 * const nc = await connectBus({ servers: ["nats://127.0.0.1:4222"], name: "my-gateway" });
 * const registry = new Registry(config.prefix);
 * const discovery = startDiscovery(nc, registry, { prefix: config.prefix, intervalMs: 5_000 }, defaultDeps());
 * await discovery.refresh();
 * const app = createRouter({ registry, mux: new RequestMux(nc), config });
 * // serve app.fetch with Deno.serve, Bun.serve or @hono/node-server
 * ```
 * @module
 */
export { ERROR_STATUS, ErrorCode, isSwitchyardError, SwitchyardError } from "./errors.ts";
export { defaultDeps, noopLogger, systemClock } from "./deps.ts";
export { ConfigError, ConfigSchema, loadConfig, readConfigFile, resolveConfig } from "./config/mod.ts";
export { connectBus, RequestMux } from "./bus/mod.ts";
export { Registry, startDiscovery } from "./registry/mod.ts";
export { createRouter } from "./router/mod.ts";
export { loadPlugin, servePlugin } from "./host/mod.ts";
export { definePlugin, PluginError } from "./plugin/mod.ts";

export type { ErrorBody, Issue, SwitchyardErrorOptions } from "./errors.ts";
export type { Clock, Deps, LogAttrs, Logger, LogLevel } from "./deps.ts";
export type { Config, ResolvedConfig } from "./config/mod.ts";
export type { BusConnectOptions } from "./bus/mod.ts";
export type { Discovery, DiscoveryOptions } from "./registry/mod.ts";
export type { ReadinessCheck, RouterOptions } from "./router/mod.ts";
export type { DrainOptions, PluginHost, ServePluginOptions } from "./host/mod.ts";
export type { PluginContext, PluginDefinition } from "./plugin/mod.ts";
