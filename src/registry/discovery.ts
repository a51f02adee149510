import type { NatsConnection, Subscription } from "@nats-io/nats-core";
import type { Deps } from "../deps.ts";
import { collectMicro, eventsSubject, INSTANCE_ID, META_PREFIX, META_PROTOCOL, PLUGIN_NAME } from "../bus/mod.ts";
import type { InstanceEvent, RequestMux } from "../bus/mod.ts";
import type { InstanceEntry, Registry } from "./registry.ts";
import { clip, Prover } from "./proof.ts";
import { checkHealthOnce, pollHealth } from "./health_poll.ts";

/**
 * How a router keeps track of instances between their events:
 * - `announce` (the default): instances announce what changes (started, draining, health, stopped),
 *   and a roll call every `rollCallMs` asks each known plugin's `$SRV.PING.<name>` (small answers,
 *   and only that plugin can give them). Dead instances are found on use (no responders, silence
 *   while requests wait) and by the roll call. Steady-state traffic: one small answer per instance
 *   per router per roll call.
 * - `poll`: every `intervalMs` also each instance's `$SRV.STATS.<name>.<id>` (health, liveness),
 *   for instances whose plugins do not announce health changes (other implementations).
 */
export type DiscoveryMode = "announce" | "poll";

/** Options of {@linkcode startDiscovery}. */
export interface DiscoveryOptions {
  prefix: string;
  /** Sends the proofs and health checks (one reply subscription for all of them). */
  mux: RequestMux;
  /** @default "announce" */
  mode?: DiscoveryMode;
  /** `poll`: how often instances are polled. @default 5000 */
  intervalMs?: number;
  /** `announce`: how often the roll call runs. @default 60000 */
  rollCallMs?: number;
  /** An instance missing from this many polls or roll calls in a row is removed. @default 3 */
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
  /** Looks at once: finds and proves new instances, marks the known ones as seen (and, polling, checks their health). */
  refresh(): Promise<void>;
  /**
   * An instance was removed because nobody answered on its own subject: its plugin is asked again
   * after 0.25 s, 1 s and 4 s (`announce` mode; polling finds it at the next poll). A dead one is not
   * found; a live one whose subscription had not yet reached this router's server is back within
   * seconds instead of at the next roll call.
   */
  recheck(plugin: string, id: string): void;
  /** Follows `plugin` too (with `watchOnly`); resolves after a first look at it. */
  watch(plugin: string): Promise<void>;
  stop(): void;
}

const decoder = new TextDecoder();
/** In `announce` mode, every this many roll calls also asks every service (`$SRV.PING`) who is new. */
export const FULL_ROLL_CALL_EVERY = 5;
/**
 * In `announce` mode, a look that leaves instances a broadcast named unproven (their own subject did
 * not answer in time: a busy bus or instance) asks their plugins again after 1 s, 2 s, 4 s, then
 * waits for the next full roll call: else a router that missed them at start would not know them
 * for `FULL_ROLL_CALL_EVERY` roll calls (5 minutes by default).
 */
const CATCH_UP_MS = [1_000, 2_000, 4_000];
/**
 * After a removal on use ({@linkcode Discovery.recheck}) the first ask comes sooner: what was missing
 * is a subscription crossing the cluster, a matter of milliseconds.
 */
const RECHECK_MS = [250, 1_000, 4_000];

/**
 * Keeps `registry` current, believing no instance's word about itself:
 * - an instance enters only with an answer on its plugin's own `$SRV.PING.<name>[.<id>]` subject
 *   (see `proof.ts`); events and answers to `$SRV.PING` without a name only say whom to ask;
 * - an event counts only when the subject it came on, `<prefix>.$events.<name>`, belongs to the
 *   plugin it describes;
 * - every subject the router sends on is derived by the registry from names, never taken from metadata.
 * Looks run every `intervalMs` (`poll`) or `rollCallMs` (`announce`), and at once after a reconnect.
 */
export function startDiscovery(nc: NatsConnection, registry: Registry, options: DiscoveryOptions, deps: Deps): Discovery {
  const mode = options.mode ?? "announce";
  const periodMs = mode === "poll" ? options.intervalMs ?? 5_000 : options.rollCallMs ?? 60_000;
  const missed = options.missedPolls ?? 3;
  const { clock, logger } = deps;
  const { prefix, mux } = options;
  const watched = options.watchOnly === true ? new Set<string>() : undefined;
  /** Per watched plugin, its first look: later callers wait for the same one. */
  const firstLooks = new Map<string, Promise<void>>();
  /** Instance key → until when its refusal stands (it is asked again after). */
  const refused = new Map<string, number>();
  /** Instance key → until when a `started` event does not make it be asked again (see `proof.ts`). */
  const unanswered = new Map<string, number>();
  /**
   * Instance key → until when it counts as gone: it said `stopped` (or was reported `lost`), so an
   * answer collected a moment before that must not bring it back. A new `started` clears it.
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
  const prover = new Prover({
    nc,
    registry,
    mux,
    clock,
    logger,
    warnOnce,
    departed: isDeparted,
    refused,
    unanswered,
    refuseForMs: periodMs * missed,
    // Its health as it is now; from then on its health events tell (announce) or the polls ask (poll).
    joined: (entry) => void checkHealthOnce(registry, mux, entry, { clock, logger, warnOnce }),
  });

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
      warnOnce(`event ${subject} ${name}`, "ignored an event about another plugin", { subject, plugin: name, instance: id, type: clip(event.type) });
      return;
    }
    if (watched !== undefined && !watched.has(name)) return;
    const attrs = { plugin: name, instance: id };
    const key = `${name}.${id}`;
    switch (event.type) {
      case "started": {
        departed.delete(key);
        const known = registry.instance(name, id);
        if (known === undefined) {
          registry.arriving(name, prover.proveInstance(name, id).then(() => {
            // Its own subject did not answer (yet): the catch-up looks ask its plugin again.
            if (registry.instance(name, id) === undefined && (unanswered.get(key) ?? 0) > clock.now()) recheck(name, id);
          }));
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
      case "health": {
        const status = event.health?.status;
        const known = registry.instance(name, id);
        if (known === undefined || (status !== "ok" && status !== "degraded" && status !== "unhealthy")) return;
        if (known.health !== status) logger.info("instance health changed", { ...attrs, health: status });
        registry.setHealth(known, status, clock.now());
        return;
      }
      case "draining":
        if (registry.markDraining(name, id) !== undefined) logger.info("instance draining", attrs);
        return;
      case "stopped":
        departed.set(key, clock.now() + periodMs * missed);
        if (registry.remove(name, id) !== undefined) logger.info("instance left", attrs);
        return;
      case "lost": {
        departed.set(key, clock.now() + periodMs * missed);
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

  /** A broadcast answer's plugin name and instance id, when well-formed, under this prefix and not yet known. */
  const newcomer = (ping: Record<string, unknown>): string | undefined => {
    const { name, id } = ping;
    const meta = ping.metadata as Record<string, unknown> | undefined;
    if (typeof name !== "string" || !PLUGIN_NAME.test(name) || typeof id !== "string" || !INSTANCE_ID.test(id)) return undefined;
    if (meta?.[META_PREFIX] !== undefined && meta[META_PREFIX] !== prefix) return undefined;
    return unknown(name, id) ? name : undefined;
  };
  /**
   * The instances this router does not know yet (key → plugin name), from every service's PING;
   * `onName` hears each plugin name with such an instance as soon as its first answer comes.
   */
  const unknownInstances = async (onName: (name: string) => void): Promise<Map<string, string>> => {
    const names = new Map<string, string>();
    const onReply = (ping: Record<string, unknown>) => {
      const name = newcomer(ping);
      if (name !== undefined) onName(name);
    };
    for (const ping of await collectMicro(nc, "PING", {}, { onReply })) {
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
      if (unknown(name, id)) names.set(`${name}.${id}`, name);
    }
    return names;
  };
  const unknown = (name: string, id: string) =>
    registry.instance(name, id) === undefined && (refused.get(`${name}.${id}`) ?? 0) <= clock.now() && !isDeparted(`${name}.${id}`);
  /** Instances a broadcast named that are still not proven (key → plugin name): catch-up looks ask their plugins. */
  let unproven = new Map<string, string>();

  let looks = 0;
  let full = true;
  /** One look; a catch-up one asks only the plugins of unproven instances. */
  const lookOnce = async (catchUp: boolean): Promise<void> => {
    const startedAt = clock.now();
    const known = [...registry.plugins()].map((p) => p.name);
    let names: Iterable<string>;
    let named: Map<string, string> | undefined;
    const early = new Map<string, Promise<void>>();
    if (watched !== undefined) {
      names = watched;
    } else if (catchUp) {
      names = new Set(unproven.values());
    } else if (mode === "poll" || full || looks % FULL_ROLL_CALL_EVERY === 0) {
      // Who is new, from every service's PING; polling, the known instances are checked below. A
      // plugin named there is asked on its own subject at once, while the other answers still come.
      named = await unknownInstances((name) => {
        // caught here: it may fail before the Promise.all below is there to catch it
        if (!early.has(name)) early.set(name, prover.proveName(name).catch((err) => logger.debug("discovery look failed", { plugin: name, error: String(err) })));
      });
      const news = new Set(named.values());
      names = mode === "poll" ? news : new Set([...known, ...news]);
    } else {
      names = known;
    }
    if (!catchUp) {
      full = false;
      looks++;
    }
    await Promise.all([
      ...[...names].map((name) => early.get(name) ?? prover.proveName(name)),
      ...early.values(),
      mode === "poll" && !catchUp ? pollHealth(registry, mux, watched ?? known, { clock, logger, warnOnce }) : Promise.resolve(),
    ]);
    unproven = new Map([...named ?? unproven].filter(([key, name]) => unknown(name, key.slice(name.length + 1))));
    if (named !== undefined && !catchUp) {
      catchUps = 0;
      catchUpDelays = CATCH_UP_MS;
      armCatchUp();
    }
    const gone = registry.prune(startedAt - missed * periodMs);
    if (gone > 0) logger.warn("instances went silent and were removed", { count: gone });
    for (const map of [refused, unanswered, departed]) for (const [key, until] of map) if (until <= clock.now()) map.delete(key);
  };

  // One look at a time; a look asked for while one runs runs right after it (a regular one).
  let running: Promise<void> | undefined;
  let again = false;
  const look = (catchUp: boolean): Promise<void> => {
    if (running !== undefined) {
      if (!catchUp) again = true;
      return running;
    }
    running = (async () => {
      try {
        let kind = catchUp;
        do {
          again = false;
          await lookOnce(kind).catch((err) => logger.debug("discovery look failed", { error: String(err) }));
          kind = false;
        } while (again && !stopped);
      } finally {
        running = undefined;
      }
    })();
    return running;
  };

  const refresh = () => look(false);

  let timer: unknown;
  let stopped = false;
  // A look still running at stop() must not arm the next one (that would keep the process alive).
  const loop = () => {
    if (!stopped) timer = clock.setTimeout(() => refresh().finally(loop), periodMs);
  };
  // Catch-up looks run beside the roll calls, on a timer of their own: what a broadcast names (a
  // claim, maybe a hostile one) cannot move the roll calls, and costs at most three asks a series.
  let catchUpTimer: unknown;
  let catchUps = 0;
  let catchUpDelays = CATCH_UP_MS;
  function armCatchUp(): void {
    clock.clearTimeout(catchUpTimer);
    catchUpTimer = undefined;
    if (stopped || mode !== "announce" || unproven.size === 0) return;
    if (catchUps >= catchUpDelays.length) {
      logger.debug("instances still unproven: left to the next full roll call", { count: unproven.size });
      unproven.clear();
      return;
    }
    catchUpTimer = clock.setTimeout(() => {
      catchUpTimer = undefined;
      void look(true).finally(armCatchUp);
    }, catchUpDelays[catchUps++]!);
  }
  function recheck(plugin: string, id: string): void {
    const key = `${plugin}.${id}`;
    if ((watched !== undefined && !watched.has(plugin)) || isDeparted(key)) return;
    unproven.set(key, plugin);
    // A catch-up already due takes it along; else a new series starts.
    if (catchUpTimer !== undefined) return;
    catchUps = 0;
    catchUpDelays = RECHECK_MS;
    armCatchUp();
  }
  if (watched === undefined) listen(eventsSubject(prefix, "*"));
  loop();
  // After a reconnect, do not wait for the next period: instances re-announce, but an event sent
  // while this side was away is lost.
  void (async () => {
    for await (const s of nc.status()) {
      if (stopped) return;
      if (s.type === "reconnect") {
        full = true;
        void refresh();
      }
    }
  })();
  return {
    refresh,
    recheck,
    watch(plugin) {
      if (watched === undefined) return Promise.resolve();
      let first = firstLooks.get(plugin);
      if (first === undefined) {
        watched.add(plugin);
        listen(eventsSubject(prefix, plugin));
        firstLooks.set(plugin, first = refresh());
      }
      return first;
    },
    stop() {
      stopped = true;
      clock.clearTimeout(timer);
      clock.clearTimeout(catchUpTimer);
      for (const sub of subscriptions) sub.unsubscribe();
    },
  };
}
