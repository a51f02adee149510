import { nuid } from "@nats-io/nats-core";
import type { NatsConnection } from "@nats-io/nats-core";
import type { Tracer } from "@opentelemetry/api";
import type { Clock, Logger } from "../deps.ts";
import { PluginTracing } from "../telemetry/mod.ts";
import { noopLogger, systemClock } from "../deps.ts";
import { ErrorCode } from "../errors.ts";
import type { PipelineSettings } from "../pipeline/mod.ts";
import type { Plugin } from "../plugin/mod.ts";
import {
  DEFAULT_PREFIX,
  eventsSubject,
  INFO_RESPONSE,
  INSTANCE_ID,
  instanceSubjectBase,
  META_HOST,
  META_INSTANCE_SUBJECT,
  META_PREFIX,
  META_PROTOCOL,
  META_REGION,
  META_REQUIRES,
  META_RUNTIME,
  META_WEIGHT,
  microSubjects,
  PING_RESPONSE,
  PROTOCOL_VERSION,
  queueGroup,
  STATS_RESPONSE,
  versionSubjectBase,
} from "../bus/mod.ts";
import type { InfoResponse, InstanceEvent, MicroVerb, StatsResponse } from "../bus/mod.ts";
import { Dispatcher } from "./dispatch.ts";
import { defaultPipelineSettings, PluginCaller } from "./plugin_caller.ts";
import { endpointMetadata } from "./schemas.ts";
import { parsePluginOptions } from "./plugin_options.ts";
import { replaceOptions, serveControl } from "./control.ts";

/** Options of {@linkcode servePlugin}. */
export interface ServePluginOptions {
  /** Unique on the bus; letters, digits, `-`, `_`. @default a NUID */
  instanceId?: string;
  /** Subject prefix. @default "sy" */
  prefix?: string;
  logger?: Logger;
  /** Reported in discovery metadata. */
  runtime?: string;
  host?: string;
  /** The plugin's options, checked against its `options` schema. @default {} */
  options?: unknown;
  /** Balancer weight advertised as `sy.weight` metadata. */
  weight?: number;
  /** The region this instance runs in, advertised as `sy.region`; its `ctx.call`s prefer the same region. */
  region?: string | undefined;
  /** Manifest requirements (plugin → semver range), advertised as `sy.requires` metadata. */
  requires?: Readonly<Record<string, string>>;
  /** Makes a server span per request and client spans for `ctx.call`. @default none (tracing off) */
  tracer?: Tracer | undefined;
  /** The connection's inbox prefix, for `ctx.call` replies (where permissions pin it). @default "_INBOX" */
  inboxPrefix?: string;
  /** How `ctx.call` routes: the callee's version rules, canary, policies (config `plugins`, `resilience`, `balancing`). */
  routing?: PipelineSettings | undefined;
  /** Deadlines, health-check and drain timers. @default the system clock */
  clock?: Clock;
}

/** Options of {@linkcode PluginHost.drain}. */
export interface DrainOptions {
  /** After this, running handlers' signals abort and the drain finishes. @default 10000 */
  timeoutMs?: number;
  /**
   * The instance subject stays until no request arrived on it for this long: routers stop picking
   * the instance when they read its `draining` event, and what they sent before that is still served.
   * @default 200
   */
  lingerMs?: number;
}

/** How often an instance asks its plugin's `health()`, to announce a change. */
export const HEALTH_CHECK_MS = 2_000;

/** How long a drain that ran out of time keeps open streams, so their callers can pull the `draining` error. */
const SESSION_GRACE_MS = 1_000;

/** See {@linkcode DrainOptions.lingerMs}. */
export const DEFAULT_DRAIN_LINGER_MS = 200;

/** A plugin served on the bus. */
export interface PluginHost {
  readonly instanceId: string;
  readonly info: InfoResponse;
  /** Handlers running now. */
  readonly inflight: number;
  /** Announces draining, stops intake, waits for running handlers, runs `shutdown`, announces stopped. */
  drain(options?: DrainOptions): Promise<{ aborted: boolean }>;
  /**
   * Replaces the plugin's options for the requests that start from now on (also reachable over
   * the bus on `<prefix>.$ctl.<plugin>.<instanceId>.options`).
   * @returns the dotted paths that changed.
   * @throws {TypeError} when they fail the plugin's options schema; the current ones stay.
   */
  setOptions(options: unknown): string[];
}

const encoder = new TextEncoder();

/**
 * Serves `plugin` on `nc`: its methods on the version's queue group and on the instance's own
 * subjects, the `$SRV` discovery verbs, and start/draining/stopped events.
 * @throws {TypeError} for a malformed instance id; whatever the plugin's `init` throws.
 */
export async function servePlugin(plugin: Plugin, nc: NatsConnection, options: ServePluginOptions = {}): Promise<PluginHost> {
  const instanceId = options.instanceId ?? nuid.next();
  if (!INSTANCE_ID.test(instanceId)) throw new TypeError(`Instance id "${instanceId}" must match ${INSTANCE_ID.source}`);
  const prefix = options.prefix ?? DEFAULT_PREFIX;
  const clock = options.clock ?? systemClock;
  const logger = (options.logger ?? noopLogger).child({ plugin: plugin.name, version: plugin.version, instance: instanceId });
  const base = versionSubjectBase(prefix, plugin.name, plugin.version);
  const queue = queueGroup(plugin.name, plugin.version);
  const ownBase = instanceSubjectBase(prefix, plugin.name, instanceId);
  const started = new Date().toISOString();

  const pluginOptions = parsePluginOptions(plugin, options.options);
  await plugin.init?.({ instanceId, version: plugin.version, logger, options: pluginOptions });

  const identity = {
    name: plugin.name,
    id: instanceId,
    version: plugin.version,
    metadata: {
      [META_PROTOCOL]: PROTOCOL_VERSION,
      [META_PREFIX]: prefix,
      [META_INSTANCE_SUBJECT]: ownBase,
      [META_RUNTIME]: options.runtime ?? "",
      [META_HOST]: options.host ?? "",
      ...(options.weight === undefined ? {} : { [META_WEIGHT]: String(options.weight) }),
      ...(options.region === undefined ? {} : { [META_REGION]: options.region }),
      ...(options.requires === undefined ? {} : { [META_REQUIRES]: JSON.stringify(options.requires) }),
    },
  };
  const endpoints = Object.entries(plugin.methods).map(([name, method]) => ({
    name,
    subject: `${base}.${name}`,
    queue_group: queue,
    metadata: endpointMetadata(method),
  }));
  const info: InfoResponse = { type: INFO_RESPONSE, ...identity, description: plugin.description, endpoints };
  const dispatcher = new Dispatcher(plugin, instanceId, logger, pluginOptions, clock);
  // ctx.call; its discovery and reply subscription start on first use
  dispatcher.caller = new PluginCaller(nc, { prefix, logger, clock, tracer: options.tracer, inboxPrefix: options.inboxPrefix, settings: { ...(options.routing ?? defaultPipelineSettings()), region: options.region } });
  dispatcher.maxPayload = () => nc.info?.max_payload; // read per reply: a reconnect may change it
  if (options.tracer !== undefined) {
    dispatcher.tracing = new PluginTracing(options.tracer, { plugin: plugin.name, version: plugin.version, instanceId, queue, ownBase });
  }
  const handle = (_err: unknown, msg: Parameters<Dispatcher["handle"]>[0]) => dispatcher.handle(msg);
  /** When the last request came on the instance subject: a drain keeps it until routers are quiet. */
  let lastOwnAt = 0;
  const queueSub = nc.subscribe(`${base}.*`, { queue, callback: handle });
  // Streams, and replies and inputs in chunks: the caller's pulls, chunks and cancels.
  const sessionSub = nc.subscribe(`${ownBase}.$s.*`, { callback: (_err, msg) => dispatcher.sessions.handle(msg) });
  const ownSub = nc.subscribe(`${ownBase}.*`, {
    callback: (err, msg) => {
      lastOwnAt = clock.now();
      handle(err, msg);
    },
  });
  const infoBytes = encoder.encode(JSON.stringify(info));
  const pingBytes = encoder.encode(JSON.stringify({ type: PING_RESPONSE, ...identity }));
  const answer = (verb: MicroVerb, health?: StatsResponse["health"]): Uint8Array => {
    if (verb === "INFO") return infoBytes;
    if (verb === "PING") return pingBytes;
    const stats: StatsResponse = {
      type: STATS_RESPONSE,
      ...identity,
      started,
      endpoints: endpoints.map(({ name, subject, queue_group }) =>
        dispatcher.stats.get(name)!.toJSON({ name, subject, queue_group })
      ),
      ...(health === undefined ? {} : { health }),
    };
    return encoder.encode(JSON.stringify(stats));
  };
  // STATS carries the plugin's health() answer; a throw or a hang past 1 s reads as unhealthy.
  const checkHealth = async (): Promise<StatsResponse["health"]> => {
    if (plugin.health === undefined) return { status: "ok" };
    let timer: unknown;
    try {
      return await Promise.race([
        Promise.resolve(plugin.health()),
        new Promise<never>((_, reject) => timer = clock.setTimeout(() => reject(new Error("health() took over 1 s")), 1_000)),
      ]);
    } catch (err) {
      return { status: "unhealthy", detail: err instanceof Error ? err.message : String(err) };
    } finally {
      clock.clearTimeout(timer);
    }
  };
  const discovery = (["PING", "INFO", "STATS"] as const).flatMap((verb) =>
    microSubjects(verb, plugin.name, instanceId).map((subject) =>
      nc.subscribe(subject, {
        callback: (_err, msg) => {
          if (verb === "STATS") void checkHealth().then((health) => msg.respond(answer(verb, health)));
          else msg.respond(answer(verb));
        },
      })
    )
  );
  discovery.push(serveControl(nc, { prefix, instanceId, plugin, dispatcher, logger }));
  const announce = (type: InstanceEvent["type"], health?: StatsResponse["health"]) =>
    nc.publish(eventsSubject(prefix, plugin.name), JSON.stringify({ type, info, ...(health === undefined ? {} : { health }) } satisfies InstanceEvent));

  await nc.flush();
  announce("started");
  logger.info("plugin ready", { subject: `${base}.*`, queue });

  // Routers learn of a health change from the instance itself, at once and only then (no polling).
  let lastHealth = "ok";
  let healthTimer: unknown;
  const watchHealth = () => {
    healthTimer = clock.setTimeout(async () => {
      const health = await checkHealth();
      if (draining !== undefined) return;
      if (health !== undefined && health.status !== lastHealth) {
        lastHealth = health.status;
        announce("health", health);
        logger.info("health changed: announced", { health: health.status });
      }
      watchHealth();
    }, HEALTH_CHECK_MS);
  };
  if (plugin.health !== undefined) watchHealth();

  let draining: Promise<{ aborted: boolean }> | undefined;
  // After a reconnect (its NATS server died, or the network came back), say so at once: routers
  // learn that what they had in flight here is lost, and that this instance serves again.
  void (async () => {
    for await (const s of nc.status()) {
      if (s.type === "reconnect" && draining === undefined) {
        announce("started");
        logger.info("reconnected: announced again", { server: s.server });
      }
    }
  })();
  const drain = async (timeoutMs: number, lingerMs: number): Promise<{ aborted: boolean }> => {
    announce("draining");
    clock.clearTimeout(healthTimer);
    logger.info("draining", { inflight: dispatcher.inflight });
    dispatcher.tracing?.draining();
    const deadline = clock.now() + timeoutMs;
    const waitBeforeDeadline = (done: Promise<unknown>): Promise<boolean> => {
      let timer: unknown;
      return Promise.race([
        done.then(() => true),
        new Promise<boolean>((resolve) => timer = clock.setTimeout(() => resolve(false), Math.max(0, deadline - clock.now()))),
      ]).finally(() => clock.clearTimeout(timer));
    };
    // The queue subscription goes at once, so NATS stops handing this instance new requests (a
    // drained subscription still delivers what the server had routed to it before the UNSUB).
    await queueSub.drain();
    // The instance subject stays while routers may still send on it: until the running handlers are
    // done and no request came on it for `lingerMs` (routers stop picking this instance when they
    // read the draining event; what they sent before is answered, not refused).
    lastOwnAt = Math.max(lastOwnAt, clock.now());
    let aborted = !await waitBeforeDeadline(dispatcher.idle());
    if (!aborted) aborted = !await waitBeforeDeadline(quiet(clock, () => lastOwnAt, lingerMs));
    await ownSub.drain();
    if (!aborted) aborted = !await waitBeforeDeadline(dispatcher.idle());
    if (aborted) {
      logger.warn("drain timed out: aborting running handlers", { inflight: dispatcher.inflight, streams: dispatcher.sessions.size });
      dispatcher.tracing?.aborted();
      dispatcher.signals.abortAll("the instance is shutting down");
      // Open streams end with a `draining` error, sent as their callers pull it (for a short while).
      dispatcher.sessions.failAll({ status: 503, code: ErrorCode.Draining, message: "The instance is shutting down" });
      await waitAtMost(clock, dispatcher.sessions.whenEmpty(), SESSION_GRACE_MS);
    }
    await sessionSub.drain();
    try {
      await plugin.shutdown?.();
    } catch (err) {
      logger.error("shutdown failed", { error: err });
    }
    announce("stopped");
    for (const sub of discovery) sub.unsubscribe();
    dispatcher.caller?.close();
    await nc.flush();
    logger.info("drained", { aborted });
    return { aborted };
  };

  return {
    instanceId,
    info,
    get inflight() {
      return dispatcher.inflight;
    },
    drain: (drainOptions = {}) => draining ??= drain(drainOptions.timeoutMs ?? 10_000, drainOptions.lingerMs ?? DEFAULT_DRAIN_LINGER_MS),
    setOptions: (raw) => replaceOptions(plugin, dispatcher, raw),
  };
}

/** Resolves once `last()` lies `quietMs` in the past (it may move on while waiting). */
function quiet(clock: Clock, last: () => number, quietMs: number): Promise<void> {
  return new Promise((resolve) => {
    const check = () => {
      const left = last() + quietMs - clock.now();
      if (left <= 0) resolve();
      else clock.setTimeout(check, left);
    };
    check();
  });
}

/** Resolves when `done` does, or after `ms`, whichever comes first. */
function waitAtMost(clock: Clock, done: Promise<void>, ms: number): Promise<void> {
  let timer: unknown;
  return Promise.race([done, new Promise<void>((resolve) => timer = clock.setTimeout(resolve, ms))]).finally(() => clock.clearTimeout(timer));
}
