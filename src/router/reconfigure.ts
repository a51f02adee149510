import type { ResolvedConfig } from "../config/mod.ts";
import type { LoadBalancer, VersionRules } from "../balancing/mod.ts";
import type { ResiliencePolicies } from "../resilience/mod.ts";
import { isSupervisorPath, isUnder } from "../lifecycle/mod.ts";
import type { ConfigConsumer } from "../lifecycle/mod.ts";

/** Config paths the router applies while running. */
const RELOADABLE = ["router.timeoutMs", "router.bodyLimitBytes", "router.drainTimeoutMs", "plugins", "resilience", "balancing", "admin"];
/** Config paths the router reads only at start-up. */
const AT_START = ["router.host", "router.port", "nats", "prefix", "discovery", "log"];

/** What {@linkcode routerConfigConsumer} reconfigures. */
export interface ReconfigurableRouter {
  /** The config object the router's parts read (changed in place). */
  config: ResolvedConfig;
  policies: ResiliencePolicies;
  balancer: LoadBalancer;
  versions: VersionRules;
}

/**
 * Applies a reloaded config to a running router: timeouts, body limit, drain timeout, breaker,
 * retry, bulkhead and rate limits, balancer and outlier settings, version rules and canaries, and
 * the admin settings. Stateful parts whose settings did not change keep their state. Listen
 * address, NATS, prefix, discovery and log settings need a restart.
 */
export function routerConfigConsumer(router: ReconfigurableRouter): ConfigConsumer {
  return {
    name: "router",
    apply(next, changed) {
      const mine = changed.filter((p) => !isSupervisorPath(p));
      const applied = mine.filter((p) => RELOADABLE.some((r) => isUnder(p, r)));
      const needsRestart = mine.filter((p) => AT_START.some((r) => isUnder(p, r)));
      if (applied.length === 0) return { applied, needsRestart };
      const live = router.config;
      live.router.timeoutMs = next.router.timeoutMs;
      live.router.bodyLimitBytes = next.router.bodyLimitBytes;
      live.router.drainTimeoutMs = next.router.drainTimeoutMs;
      live.plugins = next.plugins;
      live.resilience = next.resilience;
      live.balancing = next.balancing;
      live.admin = next.admin;
      router.policies.reconfigure();
      router.balancer.reconfigure(live.balancing, live.plugins);
      router.versions.reconfigure(live.plugins);
      return { applied, needsRestart };
    },
  };
}
