/**
 * Synchronous clean-up when this process exits without stopping what it started (a runner's
 * force-exit, an uncaught error): kill child processes, remove temp dirs.
 * @module
 */

import process from "node:process";

// One "exit" listener for all clean-ups, so many live servers don't trip MaxListenersExceededWarning.
// Module state is deliberate here: process exit is itself process-wide.
const cleanups = new Set<() => void>();
let installed = false;

function runAll(): void {
  for (const fn of cleanups) {
    try {
      fn();
    } catch {
      // best effort: the process is exiting anyway
    }
  }
  cleanups.clear();
}

/** Runs `fn` (synchronously, in registration order) when the process exits; returns an unregister function. */
export function onProcessExit(fn: () => void): () => void {
  if (!installed) {
    process.on("exit", runAll);
    installed = true;
  }
  cleanups.add(fn);
  return () => void cleanups.delete(fn);
}
