/**
 * Lifecycle: in-flight tracking and drains in the router, the router's graceful shutdown as an
 * ordered list of steps, and config hot reload. See docs/lifecycle.md.
 *
 * @example
 * ```ts
 * import { RouterLifecycle } from "./mod.ts";
 * const lifecycle = new RouterLifecycle({ known: (p) => registry.get(p) !== undefined, requests: mux, drainTimeoutMs: () => 10_000 });
 * const result = await lifecycle.drainPlugin("hello", { timeoutMs: 5_000, force: true });
 * ```
 * @module
 */
export { InflightTracker, PluginTraffic } from "./inflight.ts";
export { ABORT_GRACE_MS, DEFAULT_PROGRESS_INTERVAL_MS, RouterLifecycle } from "./router_lifecycle.ts";
export { ShutdownSequence } from "./shutdown_sequence.ts";
export { AdminSchema } from "./options.ts";
export type { AbortableRequests, DrainProgress, DrainResult, PluginDrainOptions, RouterLifecycleOptions } from "./router_lifecycle.ts";
export type { ShutdownReport, ShutdownStep, StepPlacement } from "./shutdown_sequence.ts";
export type { ResolvedAdminOptions } from "./options.ts";
export { ConfigWatcher } from "./config_watcher.ts";
export { diffConfig, isUnder } from "./config_diff.ts";
export { isSupervisorPath, SUPERVISOR_PLUGIN_KEYS } from "./config_paths.ts";
export { isNoise, watchPath } from "./file_watcher.ts";
export type { ConfigConsumer, ConfigWatcherOptions, ConsumerResult, ReloadOutcome } from "./config_watcher.ts";
export type { ChangeBurst, PathWatch, WatchOptions } from "./file_watcher.ts";
