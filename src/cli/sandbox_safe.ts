/**
 * Reads that a Deno sandbox may forbid (`NotCapable`): the plugin host must run with only the
 * permissions its manifest grants, so what it reads for itself degrades instead of failing.
 * @module
 */

/** `fn()`, or `fallback` when a sandbox forbids what it does. */
export function sandboxSafe<T>(fn: () => T, fallback: T): T {
  try {
    return fn();
  } catch {
    return fallback;
  }
}

/** A view of `env` whose reads return undefined where a sandbox forbids them. */
export function sandboxSafeEnv(env: NodeJS.ProcessEnv): Readonly<Record<string, string | undefined>> {
  return new Proxy({}, {
    get: (_target, name) => (typeof name === "string" ? sandboxSafe(() => env[name], undefined) : undefined),
  }) as Readonly<Record<string, string | undefined>>;
}
