import type { Logger } from "../deps.ts";
import type { ResolvedConfig } from "../config/mod.ts";
import { isSupervisorPath, isUnder } from "../config/mod.ts";
import type { ConfigConsumer } from "../config/mod.ts";
import type { PluginSpec, Supervisor } from "../supervisor/mod.ts";

/**
 * Applies reloaded config to a running supervisor: plugins added or removed, module, runtime,
 * env and args (blue-green replacement of that plugin), replicas (scaling), options (pushed to
 * the running instances), and the `supervisor` settings (for the next restarts and starts).
 * @param specsOf the supervised plugins of a config (it may throw, e.g. for a missing module).
 */
export function supervisorConfigConsumer(supervisor: Supervisor, specsOf: (config: ResolvedConfig) => PluginSpec[], logger: Logger): ConfigConsumer {
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
        logger.error("config not applied to the plugins: keeping them as they run", { error: (err as Error).message });
        return { applied: [], needsRestart };
      }
      await supervisor.apply(specs, next.supervisor);
      return { applied: mine, needsRestart };
    },
  };
}
