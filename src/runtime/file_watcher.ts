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

/** One burst of changes, as {@linkcode watchPath} reports it. */
export interface ChangeBurst {
  /** Changed paths, relative to the watched directory (`""` when the platform did not say). */
  paths: string[];
  /** When the first event of the burst came (epoch ms, from the clock). */
  firstAt: number;
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
export function watchPath(path: string, onChange: (burst: ChangeBurst) => void, options: WatchOptions = {}): PathWatch {
  const clock = options.clock ?? systemClock;
  const debounceMs = options.debounceMs ?? 100;
  const recursive = options.recursive ?? false;
  const dir = recursive ? path : dirname(path);
  const file = recursive ? undefined : basename(path);
  let timer: unknown;
  let closed = false;
  let burst: ChangeBurst | undefined;
  const fire = (relative: string) => {
    burst ??= { paths: [], firstAt: clock.now() };
    if (!burst.paths.includes(relative)) burst.paths.push(relative);
    clock.clearTimeout(timer);
    timer = clock.setTimeout(() => {
      const done = burst!;
      burst = undefined;
      if (!closed) onChange(done);
    }, debounceMs);
  };
  const watcher: FSWatcher = watch(dir, { recursive, persistent: false }, (_event, name) => {
    const relative = name === null || name === undefined ? "" : String(name);
    if (file !== undefined && relative !== "" && basename(relative) !== file) return;
    if (relative !== "" && (isNoise(relative) || options.ignore?.(relative) === true)) return;
    fire(relative);
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
