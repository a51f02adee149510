/**
 * How to start a TypeScript entry point under each runtime, and which runtime runs this process.
 * The only place that knows the runtimes' command lines.
 * @module
 */

export type RuntimeName = "deno" | "bun" | "node";
export const RUNTIMES: readonly RuntimeName[] = ["deno", "bun", "node"];

declare const Deno: unknown;
declare const Bun: unknown;

/** The runtime executing this code. */
export function currentRuntime(): RuntimeName {
  if (typeof Deno !== "undefined") return "deno";
  if (typeof Bun !== "undefined") return "bun";
  return "node";
}

export interface RuntimeCommandOptions {
  /** Deno permission flags; full access (`-A`) when absent. */
  denoPermissions?: readonly string[];
  /** Flags for the runtime itself, placed before the script (e.g. `--max-old-space-size=256`). */
  runtimeArgs?: readonly string[];
}

/** The argv that runs `script` (a `.ts` file) with `args` under `runtime`; binaries come from PATH. */
export function runtimeCommand(
  runtime: RuntimeName,
  script: string,
  args: readonly string[] = [],
  options: RuntimeCommandOptions = {},
): string[] {
  switch (runtime) {
    case "deno":
      return ["deno", "run", "--no-prompt", ...(options.denoPermissions ?? ["-A"]), ...(options.runtimeArgs ?? []), script, ...args];
    case "bun":
      return ["bun", "run", ...(options.runtimeArgs ?? []), script, ...args];
    case "node":
      return ["node", "--disable-warning=ExperimentalWarning", ...(options.runtimeArgs ?? []), script, ...args];
  }
}

/**
 * Environment that makes `runtime` start faster, unless `env` sets it already: Node's compile
 * cache (it keeps compiled and type-stripped modules, halving a plugin's start-up); Deno and Bun
 * cache by default.
 */
export function runtimeEnv(runtime: RuntimeName, env: Readonly<Record<string, string | undefined>>, cacheDir: string): Record<string, string> {
  if (runtime === "node" && env.NODE_COMPILE_CACHE === undefined) return { NODE_COMPILE_CACHE: cacheDir };
  return {};
}

/** Parses a runtime name, or throws a `RangeError` naming the choices. */
export function parseRuntime(name: string): RuntimeName {
  if ((RUNTIMES as readonly string[]).includes(name)) return name as RuntimeName;
  throw new RangeError(`Unknown runtime "${name}": choose deno, bun or node`);
}
