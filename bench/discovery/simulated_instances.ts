/**
 * Many plugin instances in one process and on one NATS connection, each doing on the bus exactly
 * what `servePlugin` (src/host/host.ts) does for one: the same INFO, PING and STATS documents on the
 * same `$SRV` subjects, the version's queue group, its own instance subject and control subject,
 * and started/stopped events. Requests go through the host's own `Dispatcher`, so they are
 * validated, answered and counted in STATS as a real instance does.
 *
 * Every instance keeps its own subscriptions, broadcast subjects included (`$SRV.PING`,
 * `$SRV.INFO.<name>`): nats-server then delivers a broadcast once per instance, as it would to N
 * processes, so its message counts and its own CPU are those of a real deployment of N instances.
 * @module
 */
import { nuid } from "@nats-io/nats-core";
import type { NatsConnection, Subscription } from "@nats-io/nats-core";
import { noopLogger, systemClock } from "../../src/deps.ts";
import type { Logger } from "../../src/deps.ts";
import {
  DEFAULT_PREFIX,
  eventsSubject,
  INFO_RESPONSE,
  instanceSubjectBase,
  META_HOST,
  META_INSTANCE_SUBJECT,
  META_PREFIX,
  META_PROTOCOL,
  META_RUNTIME,
  microSubjects,
  PING_RESPONSE,
  PROTOCOL_VERSION,
  queueGroup,
  SRV_PREFIX,
  STATS_RESPONSE,
  versionSubjectBase,
} from "../../src/bus/mod.ts";
import type {
  EndpointInfo,
  InfoResponse,
  InstanceEvent,
  MicroVerb,
  StatsResponse,
} from "../../src/bus/mod.ts";
import type { Plugin } from "../../src/plugin/mod.ts";
import { Dispatcher } from "../../src/host/dispatch.ts";
import { serveControl } from "../../src/host/control.ts";
import { parsePluginOptions } from "../../src/host/plugin_options.ts";
import { endpointMetadata } from "../../src/host/schemas.ts";

/** Options of {@linkcode simulateInstances}. */
export interface SimulateOptions {
  /** The plugins to serve; instances are spread over them round-robin. */
  plugins: readonly Plugin[];
  /** How many instances in all. */
  instances: number;
  /** Subject prefix. @default "sy" */
  prefix?: string;
  /** Reported as `sy.runtime`, as `switchyard plugin` reports its runtime. @default "" */
  runtime?: string;
  /** Reported as `sy.host`. @default "" */
  host?: string;
  /**
   * Told of every `$SRV.PING` broadcast (once per broadcast, not once per instance), with its reply
   * subject (a router's requests share their connection's inbox prefix).
   */
  onPing?: (reply: string) => void;
  /**
   * Told of every `$SRV.PING.<name>` of the first plugin (a roll call asks each known plugin's name
   * once), with its reply subject.
   */
  onNamePing?: (reply: string) => void;
  logger?: Logger;
}

/** What a simulated instance answered so far, summed over all of them. */
export interface SimulatedCounts {
  /** `$SRV.PING` broadcasts seen (each answered by every instance). */
  pingBroadcasts: number;
  /** Discovery replies sent, per verb. */
  replies: Record<MicroVerb, number>;
  /** Requests to methods (instance or queue subjects). */
  requests: number;
}

/** Running simulated instances. */
export interface SimulatedInstances {
  /** Instance ids per plugin name. */
  readonly ids: ReadonlyMap<string, readonly string[]>;
  readonly counts: SimulatedCounts;
  /** Publishes `stopped` for every instance and unsubscribes everything. */
  stop(): Promise<void>;
}

const encoder = new TextEncoder();

/** Serves `options.instances` instances of `options.plugins` on `nc` and announces each as started. */
export async function simulateInstances(
  nc: NatsConnection,
  options: SimulateOptions,
): Promise<SimulatedInstances> {
  const prefix = options.prefix ?? DEFAULT_PREFIX;
  const logger = options.logger ?? noopLogger;
  const counts: SimulatedCounts = { pingBroadcasts: 0, replies: { PING: 0, INFO: 0, STATS: 0 }, requests: 0 };
  const subscriptions: Subscription[] = [];
  const infos: InfoResponse[] = [];
  const ids = new Map<string, string[]>();
  const started = new Date().toISOString();
  const endpointsOf = new Map(options.plugins.map((plugin) => [plugin.name, endpointsFor(plugin, prefix)]));

  for (let i = 0; i < options.instances; i++) {
    const plugin = options.plugins[i % options.plugins.length]!;
    const id = nuid.next();
    const endpoints = endpointsOf.get(plugin.name)!;
    const ownBase = instanceSubjectBase(prefix, plugin.name, id);
    // the host's identity, key for key, so the documents match a real instance's byte for byte
    const identity = {
      name: plugin.name,
      id,
      version: plugin.version,
      metadata: {
        [META_PROTOCOL]: PROTOCOL_VERSION,
        [META_PREFIX]: prefix,
        [META_INSTANCE_SUBJECT]: ownBase,
        [META_RUNTIME]: options.runtime ?? "",
        [META_HOST]: options.host ?? "",
      },
    };
    const info: InfoResponse = {
      type: INFO_RESPONSE,
      ...identity,
      description: plugin.description,
      endpoints,
    };
    infos.push(info);
    ids.set(plugin.name, [...ids.get(plugin.name) ?? [], id]);
    const dispatcher = new Dispatcher(plugin, id, logger, parsePluginOptions(plugin, undefined), systemClock);
    dispatcher.maxPayload = () => nc.info?.max_payload;
    const handle = (_err: unknown, msg: Parameters<Dispatcher["handle"]>[0]) => {
      counts.requests++;
      dispatcher.handle(msg);
    };
    const infoBytes = encoder.encode(JSON.stringify(info));
    const pingBytes = encoder.encode(JSON.stringify({ type: PING_RESPONSE, ...identity }));
    const stats = async (): Promise<Uint8Array> => {
      const health = await plugin.health?.() ?? { status: "ok" as const };
      const doc: StatsResponse = {
        type: STATS_RESPONSE,
        ...identity,
        started,
        endpoints: endpoints.map(({ name, subject, queue_group }) =>
          dispatcher.stats.get(name)!.toJSON({ name, subject, queue_group })
        ),
        health,
      };
      return encoder.encode(JSON.stringify(doc));
    };
    const first = i === 0;
    const namePing = `${SRV_PREFIX}.PING.${plugin.name}`;
    for (const verb of ["PING", "INFO", "STATS"] as const) {
      for (const subject of microSubjects(verb, plugin.name, id)) {
        subscriptions.push(nc.subscribe(subject, {
          callback: (_err, msg) => {
            counts.replies[verb]++;
            if (verb === "STATS") void stats().then((data) => msg.respond(data));
            else msg.respond(verb === "INFO" ? infoBytes : pingBytes);
            if (first && verb === "PING" && msg.subject === `${SRV_PREFIX}.PING`) {
              counts.pingBroadcasts++;
              options.onPing?.(msg.reply ?? "");
            } else if (first && verb === "PING" && msg.subject === namePing) {
              options.onNamePing?.(msg.reply ?? "");
            }
          },
        }));
      }
    }
    const base = versionSubjectBase(prefix, plugin.name, plugin.version);
    subscriptions.push(
      nc.subscribe(`${base}.*`, { queue: queueGroup(plugin.name, plugin.version), callback: handle }),
    );
    subscriptions.push(nc.subscribe(`${ownBase}.*`, { callback: handle }));
    subscriptions.push(serveControl(nc, { prefix, instanceId: id, plugin, dispatcher, logger }));
  }

  const announce = (type: InstanceEvent["type"]) => {
    for (const info of infos) {
      nc.publish(eventsSubject(prefix, info.name), JSON.stringify({ type, info } satisfies InstanceEvent));
    }
  };
  await nc.flush();
  announce("started");
  await nc.flush();
  // as a host does: after a reconnect, say so, since what was in flight lost its replies
  let stopped = false;
  void (async () => {
    for await (const s of nc.status()) {
      if (stopped) return;
      if (s.type === "reconnect") announce("started");
    }
  })();
  return {
    ids,
    counts,
    async stop() {
      if (stopped) return;
      stopped = true;
      announce("stopped");
      for (const sub of subscriptions) sub.unsubscribe();
      await nc.flush();
    },
  };
}

/** A plugin's endpoints as the host lists them in INFO: version subject, queue group, metadata. */
function endpointsFor(plugin: Plugin, prefix: string): EndpointInfo[] {
  const base = versionSubjectBase(prefix, plugin.name, plugin.version);
  return Object.entries(plugin.methods).map(([name, method]) => ({
    name,
    subject: `${base}.${name}`,
    queue_group: queueGroup(plugin.name, plugin.version),
    metadata: endpointMetadata(method),
  }));
}
