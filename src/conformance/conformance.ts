import type { NatsConnection } from "@nats-io/nats-core";
import { DEFAULT_PREFIX, INSTANCE_ID, METHOD_NAME, PLUGIN_NAME, SRV_PREFIX } from "../bus/mod.ts";
import { checkDiscovery } from "./check_discovery.ts";
import { checkDrain, checkEvents } from "./check_events.ts";
import type { DrainCheckOptions } from "./check_events.ts";
import { checkMetadata } from "./check_metadata.ts";
import { checkInputChunks } from "./check_inputs.ts";
import { checkRequests, INVALID_JSON } from "./check_requests.ts";
import type { SampleCall } from "./check_requests.ts";
import { EventWatch } from "./event_watch.ts";
import { jsonObjectOf, Prober } from "./probe.ts";
import { ReportBuilder } from "./report.ts";
import type { ConformanceReport } from "./report.ts";

/** Options of {@linkcode checkConformance}. */
export interface ConformanceOptions {
  /** The plugin name. */
  plugin: string;
  /** The instance to check. @default the first instance of the plugin that answers (by id) */
  instanceId?: string | undefined;
  /** The subject prefix in use. @default "sy" */
  prefix?: string | undefined;
  /** How long each answer may take. @default 2000 */
  timeoutMs?: number | undefined;
  /** Wait this long for an instance to appear; one that starts meanwhile must announce `started`. @default 0 */
  waitMs?: number | undefined;
  /** A call that may run for real, to check a success reply; without one no handler runs. */
  call?: SampleCall | undefined;
  /** Check the drain sequence (the instance stops). @default not checked */
  drain?: DrainCheckOptions | undefined;
  /** The connection's inbox prefix, where permissions pin it. @default "_INBOX" */
  inboxPrefix?: string | undefined;
}

/** Between two looks for an instance that is not there yet. */
const LOOK_AGAIN_MS = 100;
/** After an answer to `$SRV.PING.<plugin>`, wait this long for other instances. */
const MORE_INSTANCES_MS = 300;

/**
 * Checks one running instance of `options.plugin`, in any language, against docs/protocol.md:
 * discovery documents, metadata, subjects and queue group, replies and errors, events, and (on
 * request) the drain. It sends only requests that no handler runs for, unless `call` is given.
 * @throws {TypeError} for a malformed plugin name, instance id or method name.
 */
export async function checkConformance(nc: NatsConnection, options: ConformanceOptions): Promise<ConformanceReport> {
  const { plugin, instanceId } = options;
  if (!PLUGIN_NAME.test(plugin)) throw new TypeError(`"${plugin}" is not a plugin name (${PLUGIN_NAME.source})`);
  if (instanceId !== undefined && !INSTANCE_ID.test(instanceId)) throw new TypeError(`"${instanceId}" is not an instance id (${INSTANCE_ID.source})`);
  if (options.call !== undefined && !METHOD_NAME.test(options.call.method)) throw new TypeError(`"${options.call.method}" is not a method name (${METHOD_NAME.source})`);
  const prefix = options.prefix ?? DEFAULT_PREFIX;
  const timeoutMs = options.timeoutMs ?? 2_000;
  const report = new ReportBuilder();
  const prober = new Prober(nc, options.inboxPrefix);
  const watch = new EventWatch(nc, prefix);
  let version: string | undefined;
  let id: string | undefined;
  try {
    // The events subscription is in place before anything is asked, so a start is not missed.
    await nc.flush();
    const found = await findInstance(prober, { plugin, instanceId, timeoutMs, waitMs: options.waitMs ?? 0 });
    if (found === undefined) {
      const which = instanceId === undefined ? `no instance of "${plugin}"` : `instance "${instanceId}" of "${plugin}" did not`;
      report.fail("instance.found", `${which} answer${instanceId === undefined ? "s" : ""} $SRV.PING within the wait (--wait)`);
      report.skipRest("no instance to check");
      return report.build({ plugin, prefix });
    }
    id = found.id;
    report.pass("instance.found", found.others.length === 0 ? undefined : `checking ${id}; also running: ${found.others.join(", ")}`);
    const docs = await checkDiscovery(prober, { plugin, id, timeoutMs }, report);
    const info = docs.info;
    if (info === undefined) {
      report.skipRest("no INFO to check against");
      return report.build({ plugin, prefix, instance: id });
    }
    version = String(info.version);
    checkMetadata(info, { plugin, id, prefix }, report);
    const target = { plugin, id, version, prefix, timeoutMs };
    await checkRequests(prober, info, target, report, options.call);
    const method = options.call?.method ?? firstMethod(info);
    if (method !== undefined) await checkInputChunks(prober, { ...target, method }, INVALID_JSON, report);
    if (options.drain === undefined) {
      for (const rule of ["drain.draining", "drain.instance_subject", "drain.queue_group", "drain.stopped", "drain.gone"] as const) {
        report.skip(rule, "give --drain to check the drain sequence (it stops the instance)");
      }
    } else if (method !== undefined) {
      await checkDrain(prober, watch, { ...target, method }, report, options.drain);
    }
    // Last, so draining and stopped are checked too.
    checkEvents(watch, target, report, found.listenedFirst);
    report.skipRest("not reached");
    return report.build({ plugin, prefix, instance: id, version });
  } finally {
    watch.stop();
  }
}

/** The instance to check, and whether it was absent at the first look (so its start was seen). */
async function findInstance(
  prober: Prober,
  options: { plugin: string; instanceId: string | undefined; timeoutMs: number; waitMs: number },
): Promise<{ id: string; others: string[]; listenedFirst: boolean } | undefined> {
  const { plugin, instanceId } = options;
  const subject = `${SRV_PREFIX}.PING.${plugin}${instanceId === undefined ? "" : `.${instanceId}`}`;
  const giveUpAt = Date.now() + options.waitMs;
  for (let first = true;; first = false) {
    const replies = await prober.ask(subject, "", { timeoutMs: options.timeoutMs, moreMs: MORE_INSTANCES_MS });
    const ids = replies.map(jsonObjectOf)
      .filter((doc) => doc?.name === plugin && typeof doc.id === "string")
      .map((doc) => doc!.id as string)
      .sort();
    const id = instanceId ?? ids[0];
    if (id !== undefined && ids.includes(id)) return { id, others: ids.filter((other) => other !== id), listenedFirst: !first };
    if (Date.now() >= giveUpAt) return undefined;
    await new Promise((resolve) => setTimeout(resolve, LOOK_AGAIN_MS));
  }
}

function firstMethod(info: Record<string, unknown>): string | undefined {
  const endpoints = Array.isArray(info.endpoints) ? info.endpoints as { name?: unknown }[] : [];
  const name = endpoints.find((e) => typeof e?.name === "string" && METHOD_NAME.test(e.name))?.name;
  return name as string | undefined;
}
