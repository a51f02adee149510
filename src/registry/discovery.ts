import type { NatsConnection } from "@nats-io/nats-core";
import type { Deps } from "../deps.ts";
import { eventsSubject, SRV_PREFIX } from "../bus/mod.ts";
import type { InfoResponse, InstanceEvent } from "../bus/mod.ts";
import type { Registry } from "./registry.ts";

/** Options of {@linkcode startDiscovery}. */
export interface DiscoveryOptions {
  prefix: string;
  /** How often `$SRV.INFO` is asked, to repair missed events. @default 5000 */
  intervalMs?: number;
  /** An instance that missed this many polls in a row is removed. @default 3 */
  missedPolls?: number;
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
      }
    },
  });

  const refresh = async (): Promise<void> => {
    const startedAt = clock.now();
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
    const gone = registry.prune(startedAt - missed * intervalMs);
    if (gone > 0) logger.warn("instances went silent and were removed", { count: gone });
  };

  let timer: unknown;
  const loop = () => {
    timer = clock.setTimeout(() => refresh().finally(loop), intervalMs);
  };
  loop();
  return {
    refresh,
    stop() {
      clock.clearTimeout(timer);
      events.unsubscribe();
    },
  };
}

function instanceAttrs(info: InfoResponse): Record<string, string> {
  return { plugin: info.name, version: info.version, instance: info.id };
}
