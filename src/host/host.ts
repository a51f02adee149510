import { nuid } from "@nats-io/nats-core";
import type { NatsConnection, Subscription } from "@nats-io/nats-core";
import type { Tracer } from "@opentelemetry/api";
import type { Logger } from "../deps.ts";
import { PluginTracing } from "../telemetry/mod.ts";
import { noopLogger } from "../deps.ts";
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
import { PluginCaller } from "./plugin_caller.ts";
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
  /** Manifest requirements (plugin → semver range), advertised as `sy.requires` metadata. */
  requires?: Readonly<Record<string, string>>;
  /** Makes a server span per request and client spans for `ctx.call`. @default none (tracing off) */
  tracer?: Tracer | undefined;
  /** The connection's inbox prefix, for `ctx.call` replies (where permissions pin it). @default "_INBOX" */
  inboxPrefix?: string;
}

/** Options of {@linkcode PluginHost.drain}. */
export interface DrainOptions {
  /** After this, running handlers' signals abort and the drain finishes. @default 10000 */
  timeoutMs?: number;
}

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
  const dispatcher = new Dispatcher(plugin, instanceId, logger, pluginOptions);
  dispatcher.caller = new PluginCaller(nc, {
    prefix,
    logger,
    tracer: options.tracer,
    ...(options.inboxPrefix === undefined ? {} : { inboxPrefix: options.inboxPrefix }),
  }); // ctx.call; its reply subscription starts on first use
  dispatcher.maxPayload = () => nc.info?.max_payload; // read per reply: a reconnect may change it
  if (options.tracer !== undefined) {
    dispatcher.tracing = new PluginTracing(options.tracer, { plugin: plugin.name, version: plugin.version, instanceId, queue, ownBase });
  }
  const handle = (_err: unknown, msg: Parameters<Dispatcher["handle"]>[0]) => dispatcher.handle(msg);

  const work: Subscription[] = [
    nc.subscribe(`${base}.*`, { queue, callback: handle }),
    nc.subscribe(`${ownBase}.*`, { callback: handle }),
  ];
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
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      return await Promise.race([
        Promise.resolve(plugin.health()),
        new Promise<never>((_, reject) => timer = setTimeout(() => reject(new Error("health() took over 1 s")), 1_000)),
      ]);
    } catch (err) {
      return { status: "unhealthy", detail: err instanceof Error ? err.message : String(err) };
    } finally {
      clearTimeout(timer);
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
  const announce = (type: InstanceEvent["type"]) =>
    nc.publish(eventsSubject(prefix, plugin.name), JSON.stringify({ type, info } satisfies InstanceEvent));

  await nc.flush();
  announce("started");
  logger.info("plugin ready", { subject: `${base}.*`, queue });

  let draining: Promise<{ aborted: boolean }> | undefined;
  const drain = async (timeoutMs: number): Promise<{ aborted: boolean }> => {
    announce("draining");
    logger.info("draining", { inflight: dispatcher.inflight });
    dispatcher.tracing?.draining();
    const deadline = Date.now() + timeoutMs;
    const idleBeforeDeadline = async (): Promise<boolean> => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const idle = await Promise.race([
        dispatcher.idle().then(() => true),
        new Promise<boolean>((resolve) => timer = setTimeout(() => resolve(false), Math.max(0, deadline - Date.now()))),
      ]);
      clearTimeout(timer);
      return idle;
    };
    // The queue subscription goes at once, so NATS stops handing this instance new requests (a
    // drained subscription still delivers what the server had routed to it before the UNSUB).
    const [queueSub, ownSub] = work as [Subscription, Subscription];
    await queueSub.drain();
    // The instance subject stays until the running handlers are done: routers stopped picking this
    // instance at the draining event, and what they sent before it still arrives and is answered.
    let aborted = !await idleBeforeDeadline();
    await ownSub.drain();
    if (!aborted) aborted = !await idleBeforeDeadline();
    if (aborted) {
      logger.warn("drain timed out: aborting running handlers", { inflight: dispatcher.inflight });
      dispatcher.tracing?.aborted();
      dispatcher.signals.abortAll("the instance is shutting down");
    }
    try {
      await plugin.shutdown?.();
    } catch (err) {
      logger.error("shutdown failed", { error: err });
    }
    announce("stopped");
    for (const sub of discovery) sub.unsubscribe();
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
    drain: (drainOptions = {}) => draining ??= drain(drainOptions.timeoutMs ?? 10_000),
    setOptions: (raw) => replaceOptions(plugin, dispatcher, raw),
  };
}
