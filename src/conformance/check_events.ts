import { eventsSubject, H_INSTANCE, instanceSubjectBase, SRV_PREFIX, versionSubjectBase } from "../bus/mod.ts";
import { INVALID_JSON } from "./check_requests.ts";
import type { EventWatch, SeenEvent } from "./event_watch.ts";
import { EVENT_SCHEMA, schemaProblems } from "./micro_schemas.ts";
import type { Prober } from "./probe.ts";
import type { ReportBuilder } from "./report.ts";

/** The instance whose events are checked. */
export interface EventTarget {
  plugin: string;
  id: string;
  version: string;
  prefix: string;
  timeoutMs: number;
}

/** How the drain is checked: someone must send the instance SIGTERM when told. */
export interface DrainCheckOptions {
  /** Called once the checker listens: ask for (or send) SIGTERM to the instance now. */
  prompt: (target: { plugin: string; id: string; version: string }) => void;
  /** How long to wait for each of draining and stopped. @default 30000 */
  timeoutMs?: number;
}

/** Between two looks at a draining instance. */
const POLL_MS = 50;
/** Between two requests on the instance subject while waiting for draining. */
const TRAFFIC_MS = 50;

/**
 * `events.started` and `events.format` from what the watch saw about the instance. `listenedFirst`:
 * the checker listened before the instance started, so its `started` event was due.
 */
export function checkEvents(watch: EventWatch, target: EventTarget, report: ReportBuilder, listenedFirst: boolean): void {
  const own = eventsSubject(target.prefix, target.plugin);
  const events = watch.about(target.id).filter((e) => e.body?.type !== "lost");
  for (const event of events) report.check("events.format", eventProblems(event, own, target));
  if (events.length === 0) report.skip("events.format", "no event about the instance was seen (use --wait or --drain)");
  if (events.some((e) => e.body?.type === "started")) report.pass("events.started");
  else if (listenedFirst) report.fail("events.started", `the instance started while the checker listened, but no started event came on ${own}`);
  else report.skip("events.started", "the instance was running before the checker listened: start the checker first, with --wait");
}

function eventProblems(event: SeenEvent, own: string, target: EventTarget): string[] {
  const type = String(event.body?.type);
  if (event.subject !== own) return [`a ${type} event about the instance came on ${event.subject}, not ${own}: routers ignore it`];
  if (event.body === undefined) return [`an event on ${own} is not JSON`];
  const problems = schemaProblems(EVENT_SCHEMA, event.body).map((p) => `${type} event: ${p}`);
  const info = event.body.info;
  if (info?.name !== target.plugin || info?.version !== target.version) {
    problems.push(`${type} event: info names ${JSON.stringify(info?.name)} ${JSON.stringify(info?.version)}, not ${target.plugin} ${target.version}`);
  }
  return problems;
}

/**
 * Has the instance drained (via `options.prompt`) and checks the sequence: `draining`, the
 * instance subject still answering, the queue group left, `stopped`, then silence.
 */
export async function checkDrain(prober: Prober, watch: EventWatch, target: EventTarget & { method: string }, report: ReportBuilder, options: DrainCheckOptions): Promise<void> {
  const { id, timeoutMs } = target;
  const waitMs = options.timeoutMs ?? 30_000;
  const own = `${instanceSubjectBase(target.prefix, target.plugin, id)}.${target.method}`;
  const versionSubject = `${versionSubjectBase(target.prefix, target.plugin, target.version)}.${target.method}`;
  const draining = watch.next(id, "draining", waitMs);
  // Until draining is seen, requests keep coming on the instance subject, as they do from a router
  // that has not read the event yet: the instance keeps the subject while they do.
  let seen = false;
  const traffic = (async () => {
    while (!seen) {
      await prober.ask(own, INVALID_JSON, { timeoutMs, request: true });
      if (!seen) await new Promise((resolve) => setTimeout(resolve, TRAFFIC_MS));
    }
  })();
  options.prompt({ plugin: target.plugin, id, version: target.version });
  const drained = await draining;
  seen = true;
  if (drained === undefined) {
    await traffic;
    report.fail("drain.draining", `no draining event within ${waitMs} ms of the prompt`);
    for (const rule of ["drain.instance_subject", "drain.queue_group", "drain.stopped", "drain.gone"] as const) report.skip(rule, "the instance did not announce draining");
    return;
  }
  // At once: routers that had not read the event yet still send on the instance subject.
  const [ownReply] = await prober.ask(own, INVALID_JSON, { timeoutMs, request: true });
  await traffic;
  const stoppedFirst = watch.about(id).find((e) => e.body?.type === "stopped" && e.seq < drained.seq);
  report.check("drain.draining", stoppedFirst === undefined ? [] : ["stopped was announced before draining"]);
  if (ownReply === undefined || ownReply.noResponders) {
    report.fail("drain.instance_subject", `${own} ${ownReply === undefined ? "gave no reply" : "had no responders"} right after draining was announced`);
  } else report.pass("drain.instance_subject");

  // The queue subscription goes: requests on the version subject reach other instances, or nobody.
  const drainSeenAt = Date.now();
  const until = drainSeenAt + Math.max(timeoutMs, 2_000);
  let stillHere = true;
  while (stillHere && Date.now() < until) {
    const [reply] = await prober.ask(versionSubject, INVALID_JSON, { timeoutMs, request: true });
    stillHere = reply !== undefined && !reply.noResponders && reply.headers?.get(H_INSTANCE) === id;
    if (stillHere) await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
  report.check("drain.queue_group", stillHere ? [`${versionSubject} still reached the instance ${Date.now() - drainSeenAt} ms after draining was announced`] : []);

  const stopped = await watch.next(id, "stopped", waitMs);
  if (stopped === undefined) {
    report.fail("drain.stopped", `no stopped event within ${waitMs} ms of draining`);
    report.skip("drain.gone", "the instance did not announce stopped");
    return;
  }
  report.pass("drain.stopped");
  // After stopped it unsubscribes and closes; give it a moment on a busy machine.
  const ping = `${SRV_PREFIX}.PING.${target.plugin}.${id}`;
  const goneBy = Date.now() + Math.max(timeoutMs, 5_000);
  let answering: string[] = [];
  do {
    answering = [];
    for (const subject of [own, ping]) {
      const [reply] = await prober.ask(subject, subject === own ? INVALID_JSON : "", { timeoutMs, request: subject === own });
      if (reply !== undefined && !reply.noResponders) answering.push(subject);
    }
    if (answering.length > 0) await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  } while (answering.length > 0 && Date.now() < goneBy);
  report.check("drain.gone", answering.map((s) => `${s} still answers after stopped`));
}
