/**
 * Everything that differs between Deno, Bun and Node lives in this folder.
 * @module
 */
import { currentRuntime } from "./command.ts";
import type { RuntimeName } from "./command.ts";
import type { RuntimeAdapter } from "./types.ts";

export { currentRuntime, parseRuntime, runtimeCommand, runtimeEnv, RUNTIMES } from "./command.ts";
export type { RuntimeCommandOptions, RuntimeName } from "./command.ts";
export { initHeadersResponse } from "./types.ts";
export { checkRequestTargets } from "./request_target.ts";
export type { CloseOptions, ConnectionGuardMode, FetchHandler, PeerInfo, ResponseFactory, RunningServer, RuntimeAdapter, ServeOptions, ServerLimits, ServerTls } from "./types.ts";

/** The adapter of the running runtime (only that one is imported). */
export async function loadRuntimeAdapter(name: RuntimeName = currentRuntime()): Promise<RuntimeAdapter> {
  switch (name) {
    case "deno":
      return (await import("./deno.ts")).denoAdapter;
    case "bun":
      return (await import("./bun.ts")).bunAdapter;
    case "node":
      return (await import("./node.ts")).nodeAdapter;
  }
}
export { isNoise, watchPath } from "./file_watcher.ts";
export type { ChangeBurst, PathWatch, WatchOptions } from "./file_watcher.ts";
