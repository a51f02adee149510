import type { NatsConnection, Subscription } from "@nats-io/nats-core";
import type { Deps } from "../deps.ts";
import { collectMicro, eventsSubject, INSTANCE_ID, isBusError, META_PREFIX, META_PROTOCOL, PLUGIN_NAME, SRV_PREFIX } from "../bus/mod.ts";
import type { InfoResponse, InstanceEvent, RequestMux } from "../bus/mod.ts";
import type { InstanceEntry, Registry } from "./registry.ts";
import { degradationsOf } from "./degradations.ts";

/** Options of {@linkcode startDiscovery}. */
export interface DiscoveryOptions {
  prefix: string;
  /** Sends the proofs and health checks (one reply subscription for all of them). */
  mux: RequestMux;
  /** How often instances are polled, to repair missed events. @default 5000 */
  intervalMs?: number;
  /** An instance that missed this many polls in a row is removed. @default 3 */
  missedPolls?: number;
  /**
   * Only these plugins, each added by {@linkcode Discovery.watch} (what `ctx.call` needs, and what
   * a plugin's NATS permissions allow it to see). @default false: every plugin on the bus
   */
  watchOnly?: boolean;
  /**
   * Told when an instance is known to be gone or reborn while requests may wait on it: a supervisor
   * reported it `lost` (it died), or it announced itself again (it reconnected, so replies to what
   * it had in flight are lost). The router fails those requests at once.
   */
  onGone?: (instance: InstanceEntry, why: "lost" | "reconnected") => void;
}

/** A running discovery. */
export interface Discovery {
  /** Polls at once: finds and proves new instances, checks the known ones' health. */
  refresh(): Promise<void>;
  /** Follows `plugin` too (with `watchOnly`); resolves after a first poll of it. */
  watch(plugin: string): Promise<void>;
  stop(): void;
}

const decoder = new TextDecoder();
const EMPTY = new Uint8Array(0);
/** At most this many proofs run at once; the rest wait for the next poll. */
const MAX_PROVING = 256;
const PROOF_TIMEOUT_MS = 2_000;
/** A plugin's instances answer `$SRV.INFO.<name>` within this of each other. */
const NAME_STALL_MS = 50;
const STATS_TIMEOUT_MS = 1_500;

/**
 * Keeps `registry` current, believing no instance's word about itself:
 * - an instance enters only with an INFO fetched on its plugin's own subjects, `$SRV.INFO.<name>`
 *   or `$SRV.INFO.<name>.<id>`, which under the documented NATS permissions only a process holding
 *   that plugin's credentials can subscribe to, so only such a process can answer (docs/security.md);
 *   events and `$SRV.PING` replies are only hints of whom to ask;
 * - an event counts only when the subject it came on, `<prefix>.$events.<name>`, belongs to the
 *   plugin it describes;
 * - liveness and health come from each known instance's own `$SRV.STATS.<name>.<id>`;
 * - every subject the router sends on is derived by the registry from names, never taken from metadata.
 * Polls run every `intervalMs`, and at once after a reconnect.
 */
export function startDiscovery(nc: NatsConnection, registry: Registry, options: DiscoveryOptions, deps: Deps): Discovery {
  const intervalMs = options.intervalMs ?? 5_000;
  const missed = options.missedPolls ?? 3;
  const { clock, logger } = deps;
  const { prefix, mux } = options;
  const watched = options.watchOnly === true ? new Set<string>() : undefined;
  /** Per watched plugin, its first poll: later callers wait for the same one. */
  const firstPolls = new Map<string, Promise<void>>();
  const proving = new Set<string>();
  /** Instance key → until when its refusal stands (it is asked again after). */
  const refused = new Map<string, number>();
  /**
   * Instance key → until when it counts as gone: it said `stopped` (or was reported `lost`), so an
   * INFO or PING answer collected a moment before that must not bring it back. A new `started` clears it.
   */
  const departed = new Map<string, number>();
  const isDeparted = (key: string) => (departed.get(key) ?? 0) > clock.now();
  const subscriptions: Subscription[] = [];
  /** Each warning once per source, so a noisy or hostile instance cannot flood the log. */
  const warned = new Set<string>();
  const warnOnce = (key: string, msg: string, attrs: Record<string, unknown>) => {
    if (warned.has(key)) return;
    if (warned.size > 10_000) warned.clear();
    warned.add(key);
    logger.warn(msg, attrs);
  };

  const onEvent = (subject: string, data: Uint8Array) => {
    let event: InstanceEvent;
    try {
      event = JSON.parse(decoder.decode(data)) as InstanceEvent;
    } catch {
      return;
    }
    const name = event?.info?.name;
    const id = event?.info?.id;
    if (typeof name !== "string" || !PLUGIN_NAME.test(name) || typeof id !== "string" || !INSTANCE_ID.test(id)) {
      warnOnce(`malformed event ${subject}`, "ignored an event with a malformed plugin name or instance id", { subject, plugin: clip(name), instance: clip(id) });
      return;
    }
    if (subject !== eventsSubject(prefix, name)) {
      warnOnce(`event ${subject} ${name}`, "ignored an event about another plugin", { subject, plugin: name, instance: id, type: String(event.type).slice(0, 16) });
      return;
    }
    if (watched !== undefined && !watched.has(name)) return;
    const attrs = { plugin: name, instance: id };
    switch (event.type) {
      case "started": {
        departed.delete(`${name}.${id}`);
        const known = registry.instance(name, id);
        if (known === undefined) {
          void prove(name, id);
          return;
        }
        // Announced again: it reconnected. Whatever it had in flight lost its replies, and it is
        // plainly alive: it serves again at once, without waiting out an ejection.
        known.lastSeen = clock.now();
        known.failures = 0;
        known.ejectedUntil = 0;
        logger.info("instance announced itself again", { ...attrs, version: known.version });
        options.onGone?.(known, "reconnected");
        return;
      }
      case "draining":
        if (registry.markDraining(name, id) !== undefined) logger.info("instance draining", attrs);
        return;
      case "stopped":
        departed.set(`${name}.${id}`, clock.now() + intervalMs * missed);
        if (registry.remove(name, id) !== undefined) logger.info("instance left", attrs);
        return;
      case "lost": {
        departed.set(`${name}.${id}`, clock.now() + intervalMs * missed);
        const gone = registry.remove(name, id);
        if (gone === undefined) return;
        logger.warn("instance lost", attrs);
        options.onGone?.(gone, "lost");
      }
    }
  };
  const listen = (subject: string) =>
    subscriptions.push(nc.subscribe(subject, {
      callback: (err, msg) => {
        if (err === null) onEvent(msg.subject, msg.data);
      },
    }));

  /** Asks the instance on its own subject and admits what it answers there. */
  const prove = async (name: string, id: string): Promise<void> => {
    const key = `${name}.${id}`;
    const now = clock.now();
    if (proving.has(key) || proving.size >= MAX_PROVING || (refused.get(key) ?? 0) > now || isDeparted(key)) return;
    proving.add(key);
    const refuse = (reason: string) => {
      refused.set(key, clock.now() + intervalMs * missed);
      warnOnce(`refused ${key} ${reason}`, "instance refused", { plugin: name, instance: id, reason });
    };
    try {
      const reply = await mux.request(`${SRV_PREFIX}.INFO.${name}.${id}`, EMPTY, { timeoutMs: PROOF_TIMEOUT_MS });
      let info: InfoResponse;
      try {
        info = JSON.parse(decoder.decode(reply.data)) as InfoResponse;
      } catch {
        return refuse("its INFO is not JSON");
      }
      if (info?.name !== name || info.id !== id) return refuse("its own INFO subject answered for another instance");
      if (isDeparted(key)) return; // it stopped while its INFO was on the way
      const admitted = registry.admit(info, clock.now());
      if (admitted === undefined) return;
      if ("reason" in admitted) return refuse(admitted.reason);
      refused.delete(key);
      joined(info, admitted);
    } catch (err) {
      // Nobody on its own subject: whoever announced it does not hold its credentials, or it is gone.
      if (isBusError(err) && err.unsent) refuse("nobody answers on its own $SRV.INFO subject");
      else logger.debug("could not ask an instance for its INFO", { plugin: name, instance: id, error: String(err) });
    } finally {
      proving.delete(key);
    }
  };

  /** Logs a join, and once per instance what of its INFO the registry ignores or replaces with a default. */
  const joined = (info: InfoResponse, entry: InstanceEntry) => {
    const attrs = { plugin: entry.plugin, version: entry.version, instance: entry.id };
    logger.info("instance joined", attrs);
    const degraded = degradationsOf(info);
    if (degraded.length === 0) return;
    const reasons = degraded.map((d) => d.endpoint === undefined ? d.reason : `${d.endpoint}: ${d.reason}`);
    warnOnce(`degraded ${entry.plugin}.${entry.id}`, "instance joined, but the router ignores part of its INFO", { ...attrs, reasons });
  };

  /**
   * Asks `$SRV.INFO.<name>` and admits every instance of `name` that answers there: one request
   * proves them all (the subject is the plugin's own), and finds those no event announced.
   */
  const proveName = async (name: string): Promise<void> => {
    const now = clock.now();
    const key = `${name}.*`;
    if (proving.has(key) || (refused.get(key) ?? 0) > now) return;
    proving.add(key);
    try {
      for (const reply of await collectMicro(nc, "INFO", { name }, { stallMs: NAME_STALL_MS })) {
        const id = reply.id;
        if (reply.name !== name) {
          warnOnce(`name ${name} ${String(reply.name).slice(0, 64)}`, "ignored an INFO answered for another plugin", { plugin: name });
          continue;
        }
        if (typeof id !== "string" || !INSTANCE_ID.test(id)) {
          warnOnce(`malformed id ${name} ${clip(id)}`, "ignored an INFO with a malformed instance id", { plugin: name, instance: clip(id) });
          continue;
        }
        if (isDeparted(`${name}.${id}`)) continue;
        const admitted = registry.admit(reply as unknown as InfoResponse, clock.now());
        if (admitted === undefined) continue;
        if ("reason" in admitted) {
          refused.set(`${name}.${id}`, clock.now() + intervalMs * missed);
          warnOnce(`refused ${name}.${id} ${admitted.reason}`, "instance refused", { plugin: name, instance: id, reason: admitted.reason });
          continue;
        }
        joined(reply as unknown as InfoResponse, admitted);
      }
    } finally {
      proving.delete(key);
    }
  };

  /** STATS from each known instance's own subject: its health, and proof that it is still there. */
  const checkHealth = async (plugins: Iterable<string>): Promise<void> => {
    const checks: Promise<void>[] = [];
    for (const name of plugins) {
      for (const version of registry.get(name)?.versions.values() ?? []) {
        for (const instance of version.instances.values()) checks.push(checkOne(instance));
      }
    }
    await Promise.all(checks);
  };
  const checkOne = async (instance: InstanceEntry): Promise<void> => {
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
      const health = reported ?? instance.health;
      const before = instance.health;
      registry.setHealth(instance, health, clock.now());
      if (before !== "unknown" && before !== health) logger.info("instance health changed", { plugin: instance.plugin, instance: instance.id, health });
    } catch {
      // no answer this time: after `missedPolls` polls without one it is removed
    }
  };

  /** The plugins with instances this router does not know yet, from every service's PING. */
  const unknownPlugins = async (): Promise<Set<string>> => {
    const names = new Set<string>();
    for (const ping of await collectMicro(nc, "PING")) {
      const { name, id } = ping;
      const meta = ping.metadata as Record<string, unknown> | undefined;
      if (typeof name !== "string" || !PLUGIN_NAME.test(name) || typeof id !== "string" || !INSTANCE_ID.test(id)) {
        // Other micro services answer $SRV.PING too, with names of their own: only one that says it
        // speaks this protocol is worth a warning.
        if (meta?.[META_PROTOCOL] !== undefined) {
          warnOnce(`malformed ping ${clip(name)} ${clip(id)}`, "ignored an instance with a malformed plugin name or instance id", { plugin: clip(name), instance: clip(id) });
        }
        continue;
      }
      if (meta?.[META_PREFIX] !== undefined && meta[META_PREFIX] !== prefix) continue;
      if (registry.instance(name, id) === undefined && (refused.get(`${name}.${id}`) ?? 0) <= clock.now() && !isDeparted(`${name}.${id}`)) names.add(name);
    }
    return names;
  };

  const pollOnce = async (): Promise<void> => {
    const startedAt = clock.now();
    // Watching a few plugins: ask each by name. Watching all: PING tells which names have news.
    const names = watched ?? await unknownPlugins();
    await Promise.all([...[...names].map(proveName), checkHealth(watched ?? [...registry.plugins()].map((p) => p.name))]);
    const gone = registry.prune(startedAt - missed * intervalMs);
    if (gone > 0) logger.warn("instances went silent and were removed", { count: gone });
    for (const map of [refused, departed]) for (const [key, until] of map) if (until <= clock.now()) map.delete(key);
  };

  // One poll at a time; a poll asked for while one runs runs right after it.
  let running: Promise<void> | undefined;
  let again = false;
  const refresh = (): Promise<void> => {
    if (running !== undefined) {
      again = true;
      return running;
    }
    running = (async () => {
      try {
        do {
          again = false;
          await pollOnce().catch((err) => logger.debug("discovery poll failed", { error: String(err) }));
        } while (again && !stopped);
      } finally {
        running = undefined;
      }
    })();
    return running;
  };

  let timer: unknown;
  let stopped = false;
  // A poll still running at stop() must not arm the next one (that would keep the process alive).
  const loop = () => {
    if (!stopped) timer = clock.setTimeout(() => refresh().finally(loop), intervalMs);
  };
  if (watched === undefined) listen(eventsSubject(prefix, "*"));
  loop();
  // After a reconnect, do not wait for the next interval: instances re-announce, but an event sent
  // while this side was away is lost.
  void (async () => {
    for await (const s of nc.status()) {
      if (stopped) return;
      if (s.type === "reconnect") void refresh();
    }
  })();
  return {
    refresh,
    watch(plugin) {
      if (watched === undefined) return Promise.resolve();
      let first = firstPolls.get(plugin);
      if (first === undefined) {
        watched.add(plugin);
        listen(eventsSubject(prefix, plugin));
        firstPolls.set(plugin, first = refresh());
      }
      return first;
    },
    stop() {
      stopped = true;
      clock.clearTimeout(timer);
      for (const sub of subscriptions) sub.unsubscribe();
    },
  };
}

/** A value someone else chose, cut short for a log line. */
function clip(value: unknown): string {
  return String(value).slice(0, 64);
}
