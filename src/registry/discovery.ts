import type { NatsConnection } from "@nats-io/nats-core";
import type { Deps } from "../deps.ts";
import { eventsSubject, SRV_PREFIX } from "../bus/mod.ts";
import type { InfoResponse, InstanceEvent, StatsResponse } from "../bus/mod.ts";
import type { Registry } from "./registry.ts";

/** Options of {@linkcode startDiscovery}. */
export interface DiscoveryOptions {
  prefix: string;
  /** How often `$SRV.INFO` is asked, to repair missed events. @default 5000 */
  intervalMs?: number;
  /** An instance that missed this many polls in a row is removed. @default 3 */
  missedPolls?: number;
  /**
   * Called when a supervisor reports an instance `lost` (it died without draining), after it is
   * removed: the router fails the requests it still waits on from it at once.
   */
  onLost?: (plugin: string, instanceId: string) => void;
}

export interface Discovery {
  /** Asks every service for its INFO and waits for the answers. */
  refresh(): Promise<void>;
  stop(): void;
}

const decoder = new TextDecoder();

/**
 * Keeps `registry` current: instance events (started, draining, stopped) apply at once; a periodic
 * `$SRV.INFO` poll repairs anything missed and removes instances that went silent.
 */
export function startDiscovery(nc: NatsConnection, registry: Registry, options: DiscoveryOptions, deps: Deps): Discovery {
  const intervalMs = options.intervalMs ?? 5_000;
  const missed = options.missedPolls ?? 3;
  const { clock, logger } = deps;
  const events = nc.subscribe(eventsSubject(options.prefix, "*"), {
    callback: (_err, msg) => {
      let event: InstanceEvent;
      try {
        event = JSON.parse(decoder.decode(msg.data)) as InstanceEvent;
      } catch {
        return;
      }
      const info = event.info;
      if (typeof info?.name !== "string" || typeof info.id !== "string") return;
      if (event.type === "started") {
        if (registry.upsert(info, clock.now())) logger.info("instance joined", instanceAttrs(info));
      } else if (event.type === "draining") {
        registry.markDraining(info.name, info.id);
        logger.info("instance draining", instanceAttrs(info));
      } else if (event.type === "stopped" && registry.remove(info.name, info.id)) {
        logger.info("instance left", instanceAttrs(info));
      } else if (event.type === "lost") {
        registry.remove(info.name, info.id);
        logger.warn("instance lost", instanceAttrs(info));
        options.onLost?.(info.name, info.id);
      }
    },
  });

  // STATS carries each instance's health() answer; an instance that answers it is alive too.
  const pollHealth = async (): Promise<void> => {
    try {
      const replies = await nc.requestMany(`${SRV_PREFIX}.STATS`, undefined, { strategy: "stall", stall: 150, maxWait: 1_500 });
      for await (const msg of replies) {
        try {
          const stats = JSON.parse(decoder.decode(msg.data)) as StatsResponse;
          const status = stats.health?.status;
          if (typeof stats.name !== "string" || typeof stats.id !== "string" || status === undefined) continue;
          if (status !== "ok" && status !== "degraded" && status !== "unhealthy") continue;
          const before = registry.get(stats.name)?.versions.get(stats.version)?.instances.get(stats.id)?.health;
          registry.setHealth(stats.name, stats.id, status, clock.now());
          if (before !== undefined && before !== status) logger.info("instance health changed", { plugin: stats.name, instance: stats.id, health: status });
        } catch {
          // not a JSON STATS reply
        }
      }
    } catch (err) {
      logger.debug("health poll failed", { error: err });
    }
  };

  const refresh = async (): Promise<void> => {
    const startedAt = clock.now();
    const health = pollHealth();
    try {
      const replies = await nc.requestMany(`${SRV_PREFIX}.INFO`, undefined, { strategy: "stall", stall: 150, maxWait: 1_000 });
      for await (const msg of replies) {
        try {
          const info = JSON.parse(decoder.decode(msg.data)) as InfoResponse;
          if (registry.upsert(info, clock.now())) logger.info("instance joined", instanceAttrs(info));
        } catch {
          // Not a JSON INFO: some other micro service; not ours to list.
        }
      }
    } catch (err) {
      logger.debug("discovery poll failed", { error: err });
    }
    await health;
    const gone = registry.prune(startedAt - missed * intervalMs);
    if (gone > 0) logger.warn("instances went silent and were removed", { count: gone });
  };

  let timer: unknown;
  let stopped = false;
  // A poll still running at stop() must not arm the next one (that would keep the process alive).
  const loop = () => {
    if (!stopped) timer = clock.setTimeout(() => refresh().finally(loop), intervalMs);
  };
  loop();
  return {
    refresh,
    stop() {
      stopped = true;
      clock.clearTimeout(timer);
      events.unsubscribe();
    },
  };
}

function instanceAttrs(info: InfoResponse): Record<string, string> {
  return { plugin: info.name, version: info.version, instance: info.id };
}
