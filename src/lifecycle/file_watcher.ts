import { watch } from "node:fs";
import type { FSWatcher } from "node:fs";
import { basename, dirname } from "node:path";
import type { Clock } from "../deps.ts";
import { systemClock } from "../deps.ts";

/** Options of {@linkcode watchPath}. */
export interface WatchOptions {
  /** Watch a directory with everything below it. @default false (one file) */
  recursive?: boolean;
  /** Calls `onChange` once this long after the last event of a burst (editors write in steps). @default 100 */
  debounceMs?: number;
  /** Paths (relative to the watched directory) that never trigger, e.g. editor swap files. */
  ignore?: (relativePath: string) => boolean;
  clock?: Clock;
}

/** A running watch; `close()` stops it. */
export interface PathWatch {
  close(): void;
}

/** Editor and tool droppings that are not code changes. */
export function isNoise(path: string): boolean {
  return /(^|[\\/])(\.git|node_modules)([\\/]|$)|(~|\.swp|\.swx|\.tmp|\.DS_Store|4913)$|(^|[\\/])\.#/.test(path);
}

/**
 * Watches a file (through its directory, so editors that save by renaming a new file over the old
 * one are seen) or a directory tree, and calls `onChange` once per burst of events. `node:fs`
 * `watch` behaves alike on Deno, Bun and Node on Linux, macOS and Windows.
 */
export function watchPath(path: string, onChange: () => void, options: WatchOptions = {}): PathWatch {
  const clock = options.clock ?? systemClock;
  const debounceMs = options.debounceMs ?? 100;
  const recursive = options.recursive ?? false;
  const dir = recursive ? path : dirname(path);
  const file = recursive ? undefined : basename(path);
  let timer: unknown;
  let closed = false;
  const fire = () => {
    clock.clearTimeout(timer);
    timer = clock.setTimeout(() => {
      if (!closed) onChange();
    }, debounceMs);
  };
  const watcher: FSWatcher = watch(dir, { recursive, persistent: false }, (_event, name) => {
    const relative = name === null || name === undefined ? "" : String(name);
    if (file !== undefined && relative !== "" && basename(relative) !== file) return;
    if (relative !== "" && (isNoise(relative) || options.ignore?.(relative) === true)) return;
    fire();
  });
  watcher.on("error", () => {
    // The directory went away (a checkout switching branches): nothing left to watch.
  });
  return {
    close() {
      closed = true;
      clock.clearTimeout(timer);
      watcher.close();
    },
  };
}
