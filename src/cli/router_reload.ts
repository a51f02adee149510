import type { ResolvedConfig } from "../config/mod.ts";
import { pipelineSettings } from "../config/mod.ts";
import type { RequestPipeline } from "../pipeline/mod.ts";
import { isSupervisorPath, isUnder } from "../lifecycle/mod.ts";
import type { ConfigConsumer } from "../lifecycle/mod.ts";

/** Config paths the router applies while running. */
const RELOADABLE = ["router.timeoutMs", "router.bodyLimitBytes", "router.drainTimeoutMs", "plugins", "resilience", "balancing", "admin"];
/** Config paths the router reads only at start-up. */
const AT_START = ["router.host", "router.port", "nats", "prefix", "discovery", "log"];

/** What {@linkcode routerConfigConsumer} reconfigures. */
export interface ReconfigurableRouter {
  pipeline: RequestPipeline;
  /** Makes `next` the settings object the router reads from now on (it is never changed in place). */
  swap(next: ResolvedConfig): void;
}

/**
 * Applies a reloaded config to a running router: timeouts, body limit, drain timeout, breaker,
 * retry, bulkhead and rate limits, balancer and outlier settings, version rules and canaries, and
 * the admin settings. The new config is a new immutable object: the request pipeline rebuilds its
 * parts from it (keeping the state of parts whose settings did not change) and the router reads
 * its own settings from it. Listen address, NATS, prefix, discovery and log settings need a restart.
 */
export function routerConfigConsumer(router: ReconfigurableRouter): ConfigConsumer {
  return {
    name: "router",
    apply(next, changed) {
      const mine = changed.filter((p) => !isSupervisorPath(p));
      const applied = mine.filter((p) => RELOADABLE.some((r) => isUnder(p, r)));
      const needsRestart = mine.filter((p) => AT_START.some((r) => isUnder(p, r)));
      if (applied.length === 0) return { applied, needsRestart };
      router.pipeline.reconfigure(pipelineSettings(next));
      router.swap(next);
      return { applied, needsRestart };
    },
  };
}
