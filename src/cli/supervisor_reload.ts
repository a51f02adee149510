import type { Logger } from "../deps.ts";
import type { ResolvedConfig } from "../config/mod.ts";
import { isSupervisorPath, isUnder } from "../config/mod.ts";
import type { ConfigConsumer } from "../config/mod.ts";
import type { PluginSpec, PluginUpdate, Supervisor } from "../supervisor/mod.ts";

/**
 * Applies reloaded config to a running supervisor: plugins added or removed, module, runtime,
 * env, args, NATS credentials (blue-green replacement of that plugin), replicas (scaling),
 * options (pushed to the running instances), and the `supervisor` settings (for the next restarts
 * and starts). Only what took effect counts as applied: options a plugin refused or ignored, a
 * replacement whose new instances did not come up, a plugin that did not start are not applied.
 * @param specsOf the supervised plugins of a config (it may throw, e.g. for a missing module).
 */
export function supervisorConfigConsumer(
  supervisor: Supervisor,
  specsOf: (config: ResolvedConfig) => PluginSpec[],
  logger: Logger,
): ConfigConsumer {
  return {
    name: "supervisor",
    async apply(next, changed) {
      const mine = changed.filter((p) => isSupervisorPath(p) || /^plugins\.[^.]+$/.test(p));
      const needsRestart = changed.filter((p) => isUnder(p, "nats") || isUnder(p, "prefix"));
      if (mine.length === 0) return { applied: [], needsRestart };
      let specs: PluginSpec[];
      try {
        specs = specsOf(next);
      } catch (err) {
        logger.error("config not applied to the plugins: keeping them as they run", {
          error: (err as Error).message,
        });
        return { applied: [], needsRestart, rejected: mine };
      }
      const updates = new Map((await supervisor.apply(specs, next.supervisor)).map((u) => [u.plugin, u]));
      const applied = mine.filter((path) => tookEffect(path, updates));
      return { applied, needsRestart, rejected: mine.filter((p) => !applied.includes(p)) };
    },
  };
}

/** Whether the change at `path` (a supervisor path) took effect, given what happened to each plugin. */
function tookEffect(path: string, updates: ReadonlyMap<string, PluginUpdate>): boolean {
  const [root, plugin, key, ...rest] = path.split(".");
  if (root !== "plugins" || plugin === undefined) return true;
  const update = updates.get(plugin);
  if (update === undefined) return false;
  if (key === undefined) return update.removed === true || update.added?.ready === true;
  if (update.replaced !== undefined) return update.replaced.ok;
  if (update.added !== undefined) return update.added.ready;
  if (key === "replicas") return update.scaled !== undefined;
  if (key === "options") {
    const options = update.options;
    if (options === undefined || !options.applied) return false;
    const at = rest.join(".");
    if (at === "") return options.ignored.length === 0;
    return !options.ignored.some((i) => i === at || i.startsWith(`${at}.`) || at.startsWith(`${i}.`));
  }
  return false;
}
