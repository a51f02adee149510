import { isUnder } from "../diff.ts";

/** Keys of `plugins.<name>` that belong to the supervisor (the others are the router's). */
export const SUPERVISOR_PLUGIN_KEYS: ReadonlySet<string> = new Set(["module", "runtime", "replicas", "env", "args", "runtimeArgs", "options", "nats"]);

/** True for `supervisor.…` and `plugins.<name>.<a supervisor key>…`. */
export function isSupervisorPath(path: string): boolean {
  if (isUnder(path, "supervisor")) return true;
  const parts = path.split(".");
  return parts[0] === "plugins" && parts.length >= 3 && SUPERVISOR_PLUGIN_KEYS.has(parts[2]!);
}
