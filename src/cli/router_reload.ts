import type { ResolvedConfig } from "../config/mod.ts";
import { isSupervisorPath, isUnder, pipelineSettings } from "../config/mod.ts";
import type { RequestPipeline } from "../pipeline/mod.ts";
import type { RouterAuth } from "../auth/mod.ts";
import type { Logger } from "../deps.ts";
import { noopLogger } from "../deps.ts";
import type { ConfigConsumer, ConsumerResult } from "../config/mod.ts";

/** Config paths the router applies while running (`auth` only when the router started with auth). */
const RELOADABLE = [
  "router.timeoutMs",
  "router.streamIdleMs",
  "router.streamTimeoutMs",
  "router.bodyLimitBytes",
  "router.drainTimeoutMs",
  "router.dashboard",
  "plugins",
  "resilience",
  "balancing",
  "admin",
  "auth",
  "metrics.token",
  "metrics.roles",
];
/** Config paths the router does not use (the supervisor's allow-list). */
const NOT_MINE = ["allowList"];

/**
 * Every other path the router reads only at start-up, and reports as `needsRestart`: listen
 * address, TLS, connection limits and timeouts, NATS, prefix, discovery, log, metrics path.
 */
export const ROUTER_RESTART_PATHS = "router.host, .port, .tls, .headerTimeoutMs, .idleTimeoutMs, .requestTimeoutMs,\n" +
  "  .maxConnections, .connectionGuard, .traces, nats, prefix, discovery, log, metrics (but .token, .roles),\n" +
  "  and adding or removing the whole auth section";

/** What {@linkcode routerConfigConsumer} reconfigures. */
export interface ReconfigurableRouter {
  pipeline: RequestPipeline;
  /** The settings object the router reads now. */
  current(): ResolvedConfig;
  /** Makes `next` the settings object the router reads from now on (it is never changed in place). */
  swap(next: ResolvedConfig): void;
  /** The router's authentication and grants, when it started with `auth`. */
  auth?: RouterAuth | undefined;
  /** Says why an `auth` change could not be applied. @default no logging */
  logger?: Logger;
}

/**
 * Applies a reloaded config to a running router: timeouts, body limit, drain timeout, breaker,
 * retry, bulkhead and rate limits, balancer and outlier settings, version rules and canaries, the
 * admin settings, the metrics token and roles, and every `auth` setting (API keys, JWT keys and
 * claims, Basic users, mTLS roles, rules, admin roles): a removed key fails from the next request.
 * The new config is a new immutable object: the request pipeline rebuilds its parts from it
 * (keeping the state of parts whose settings did not change) and the router reads its own settings
 * from it. Everything else the router uses needs a restart and is reported as `needsRestart`,
 * including turning `auth` on or off (a router keeps the auth it started with, so deleting the
 * section by mistake opens nothing).
 */
export function routerConfigConsumer(router: ReconfigurableRouter): ConfigConsumer {
  const logger = router.logger ?? noopLogger;
  return {
    name: "router",
    async apply(next, changed) {
      const mine = changed.filter((p) => !isSupervisorPath(p) && !NOT_MINE.some((r) => isUnder(p, r)));
      const authPaths = mine.filter((p) => isUnder(p, "auth"));
      const applied = mine.filter((p) => !isUnder(p, "auth") && RELOADABLE.some((r) => isUnder(p, r)));
      const needsRestart = mine.filter((p) => !isUnder(p, "auth") && !applied.includes(p));
      let auth: ResolvedConfig["auth"] = router.current().auth;
      if (authPaths.length > 0) {
        const result = await applyAuth(router, next, authPaths, logger);
        applied.push(...result.applied);
        needsRestart.push(...(result.needsRestart ?? []));
        if (result.applied.length > 0) auth = next.auth;
      }
      if (applied.length > 0) {
        // What needs a restart keeps its start-up value; what applies comes from the new file.
        const before = router.current();
        router.pipeline.reconfigure(pipelineSettings(next));
        router.swap({
          ...next,
          router: {
            ...before.router,
            timeoutMs: next.router.timeoutMs,
            streamIdleMs: next.router.streamIdleMs,
            streamTimeoutMs: next.router.streamTimeoutMs,
            bodyLimitBytes: next.router.bodyLimitBytes,
            drainTimeoutMs: next.router.drainTimeoutMs,
            dashboard: next.router.dashboard,
          },
          metrics: { ...before.metrics, token: next.metrics.token, roles: next.metrics.roles },
          auth,
        });
      }
      return { applied, needsRestart };
    },
  };
}

async function applyAuth(router: ReconfigurableRouter, next: ResolvedConfig, paths: readonly string[], logger: Logger): Promise<ConsumerResult> {
  const auth = router.auth;
  // Turning auth on or off changes which routes are guarded: that is wired at start-up.
  if (auth === undefined || next.auth === undefined) return { applied: [], needsRestart: paths };
  const { mtls, ...rest } = next.auth;
  // Client certificates come through router.tls.clientCaFile, which is read at start-up only.
  const mtlsUsable = mtls === undefined || router.current().router.tls?.clientCaFile !== undefined;
  try {
    await auth.reconfigure(mtlsUsable ? next.auth : rest);
  } catch (err) {
    logger.error("auth config not applied: keeping the running keys, users and rules", { error: (err as Error).message });
    return { applied: [] };
  }
  if (mtlsUsable) return { applied: paths };
  return { applied: paths.filter((p) => !isUnder(p, "auth.mtls")), needsRestart: paths.filter((p) => isUnder(p, "auth.mtls")) };
}
