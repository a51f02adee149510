import type { Clock, Logger } from "../deps.ts";
import { SRV_PREFIX } from "../bus/mod.ts";
import type { RequestMux } from "../bus/mod.ts";
import type { InstanceEntry, Registry } from "./registry.ts";

const decoder = new TextDecoder();
const EMPTY = new Uint8Array(0);
const STATS_TIMEOUT_MS = 1_500;

/** What {@linkcode pollHealth} works with. */
export interface HealthPollParts {
  clock: Clock;
  logger: Logger;
  warnOnce: (key: string, msg: string, attrs: Record<string, unknown>) => void;
}

/** One instance's health, asked once (after it joins, when its plugin announces health changes). */
export function checkHealthOnce(registry: Registry, mux: RequestMux, instance: InstanceEntry, parts: HealthPollParts): Promise<void> {
  return checkOne(registry, mux, instance, parts);
}

/**
 * `poll` discovery's health check: STATS from each known instance's own `$SRV.STATS.<name>.<id>`,
 * its `health` (docs/protocol.md) and a sign that it is still there. An instance that does not
 * answer keeps its state; after a few polls without an answer discovery removes it.
 */
export async function pollHealth(
  registry: Registry,
  mux: RequestMux,
  plugins: Iterable<string>,
  parts: HealthPollParts,
): Promise<void> {
  const checks: Promise<void>[] = [];
  for (const name of plugins) {
    for (const version of registry.get(name)?.versions.values() ?? []) {
      for (const instance of version.instances.values()) checks.push(checkOne(registry, mux, instance, parts));
    }
  }
  await Promise.all(checks);
}

async function checkOne(
  registry: Registry,
  mux: RequestMux,
  instance: InstanceEntry,
  { clock, logger, warnOnce }: HealthPollParts,
): Promise<void> {
  try {
    const reply = await mux.request(`${SRV_PREFIX}.STATS.${instance.plugin}.${instance.id}`, EMPTY, { timeoutMs: STATS_TIMEOUT_MS });
    let status: unknown;
    try {
      status = (JSON.parse(decoder.decode(reply.data)) as { health?: { status?: unknown } }).health?.status;
    } catch {
      status = undefined;
    }
    const reported = status === "ok" || status === "degraded" || status === "unhealthy" ? status : undefined;
    if (reported === undefined) {
      warnOnce(`no health ${instance.plugin}.${instance.id}`, "instance's STATS carries no health status: its health stays as it was", {
        plugin: instance.plugin,
        instance: instance.id,
        reason: `health.status is ${JSON.stringify(String(status).slice(0, 32))}, not "ok", "degraded" or "unhealthy"`,
      });
    }
    const before = instance.health;
    const health = reported ?? before;
    registry.setHealth(instance, health, clock.now());
    if (before !== "unknown" && before !== health) logger.info("instance health changed", { plugin: instance.plugin, instance: instance.id, health });
  } catch {
    // no answer this time: after `missedPolls` polls without one it is removed
  }
}
