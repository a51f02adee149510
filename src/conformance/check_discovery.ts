import { microSubjects } from "../bus/mod.ts";
import type { MicroVerb } from "../bus/mod.ts";
import { HEALTH_SCHEMA, INFO_SCHEMA, PING_SCHEMA, schemaProblems, STATS_SCHEMA } from "./micro_schemas.ts";
import { jsonObjectOf } from "./probe.ts";
import type { Prober, ProbeReply } from "./probe.ts";
import type { ReportBuilder } from "./report.ts";

/** The three discovery documents the instance gave on its own `$SRV.<verb>.<plugin>.<id>` subjects. */
export interface SrvDocuments {
  ping?: Record<string, unknown>;
  info?: Record<string, unknown>;
  stats?: Record<string, unknown>;
}

/** What is checked, and how long each answer may take. */
export interface Target {
  plugin: string;
  id: string;
  timeoutMs: number;
}

const SCHEMAS = { PING: PING_SCHEMA, INFO: INFO_SCHEMA, STATS: STATS_SCHEMA } as const;
const RULE = { PING: "srv.ping", INFO: "srv.info", STATS: "srv.stats" } as const;
/** After a reply to an all-services or per-plugin verb, wait this long for more. */
const MORE_MS = 300;

/**
 * Asks the instance for PING, INFO and STATS on each of the three subjects of each verb, and
 * checks the documents against the micro schemas, each other, and the Switchyard `health` field.
 */
export async function checkDiscovery(prober: Prober, target: Target, report: ReportBuilder): Promise<SrvDocuments> {
  const { plugin, id, timeoutMs } = target;
  const docs: SrvDocuments = {};
  const identities: string[] = [];
  for (const verb of ["PING", "INFO", "STATS"] as const) {
    const [all, byName, own] = microSubjects(verb, plugin, id) as [string, string, string];
    const doc = await prober.askJson(own, { timeoutMs });
    if (typeof doc === "string") {
      report.fail(RULE[verb], doc);
      continue;
    }
    docs[verb.toLowerCase() as Lowercase<MicroVerb>] = doc;
    report.check(RULE[verb], schemaProblems(SCHEMAS[verb], doc).map((p) => `${verb} ${p}`));
    identities.push(`${verb}: ${String(doc.name)} ${String(doc.id)} ${String(doc.version)}`);
    const identity: string[] = [];
    if (doc.name !== plugin) identity.push(`${verb} on ${own} names the plugin ${JSON.stringify(doc.name)}`);
    if (doc.id !== id) identity.push(`${verb} on ${own} names the instance ${JSON.stringify(doc.id)}`);
    report.check("srv.identity", identity);
    // The wider subjects reach every instance of the plugin (or every service): ours must be among them.
    for (const subject of [byName, all]) {
      const ours = (r: ProbeReply) => jsonObjectOf(r)?.id === id;
      const replies = await prober.ask(subject, "", { timeoutMs, moreMs: MORE_MS, stopAt: ours });
      const reached = replies.some(ours);
      report.check("srv.subjects", reached ? [] : [`${subject} did not reach the instance`]);
    }
  }
  const versions = new Set([docs.ping, docs.info, docs.stats].filter((d) => d !== undefined).map((d) => d.version));
  if (versions.size > 1) report.fail("srv.identity", `the verbs disagree: ${identities.join("; ")}`);

  const stats = docs.stats;
  if (stats === undefined) {
    report.skip("stats.health", "no STATS to read");
    report.skip("stats.endpoints", "no STATS to read");
  } else {
    if (stats.health === undefined) report.fail("stats.health", "STATS has no health field: routers cannot tell whether the instance is healthy");
    else report.check("stats.health", schemaProblems(HEALTH_SCHEMA, stats.health).map((p) => `health ${p}`));
    if (docs.info === undefined) report.skip("stats.endpoints", "no INFO to compare with");
    else report.check("stats.endpoints", endpointMismatches(docs.info, stats));
  }
  return docs;
}

interface EndpointLike {
  name?: unknown;
  subject?: unknown;
  queue_group?: unknown;
}

function endpointMismatches(info: Record<string, unknown>, stats: Record<string, unknown>): string[] {
  const listed = (doc: Record<string, unknown>) => Array.isArray(doc.endpoints) ? doc.endpoints as EndpointLike[] : [];
  const problems: string[] = [];
  const inStats = new Map(listed(stats).map((e) => [e?.name, e]));
  for (const endpoint of listed(info)) {
    const entry = inStats.get(endpoint?.name);
    const name = JSON.stringify(endpoint?.name);
    if (entry === undefined) problems.push(`STATS has no entry for endpoint ${name}`);
    else if (entry.subject !== endpoint.subject || entry.queue_group !== endpoint.queue_group) {
      problems.push(`STATS gives endpoint ${name} subject ${JSON.stringify(entry.subject)} and queue group ${JSON.stringify(entry.queue_group)}, INFO ${JSON.stringify(endpoint.subject)} and ${JSON.stringify(endpoint.queue_group)}`);
    }
  }
  return problems;
}
