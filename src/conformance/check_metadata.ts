import semver from "semver";
import {
  INSTANCE_ID,
  instanceSubjectBase,
  META_INPUT_SCHEMA,
  META_INSTANCE_SUBJECT,
  META_OUTPUT_SCHEMA,
  META_PREFIX,
  META_PROTOCOL,
  METHOD_NAME,
  PLUGIN_NAME,
  queueGroup,
  versionSubjectBase,
} from "../bus/mod.ts";
import type { InfoResponse } from "../bus/mod.ts";
import { degradationsOf, KNOWN_PROTOCOLS, Registry } from "../registry/mod.ts";
import type { ReportBuilder } from "./report.ts";

/** A value quoted for a report line, cut short. */
const q = (value: unknown) => JSON.stringify(typeof value === "string" ? value.slice(0, 120) : value ?? null);

/**
 * Checks an INFO against what a router requires of it: the protocol version, the name grammars,
 * the subjects it claims (each must be the one derived from the names), the schemas, the optional
 * metadata; and, as the last word, whether a real {@linkcode Registry} admits it.
 */
export function checkMetadata(info: Record<string, unknown>, target: { plugin: string; id: string; prefix: string }, report: ReportBuilder): void {
  const { plugin, id, prefix } = target;
  const meta = typeof info.metadata === "object" && info.metadata !== null ? info.metadata as Record<string, unknown> : {};
  const version = typeof info.version === "string" ? info.version : "";

  const protocol = meta[META_PROTOCOL];
  if (protocol === undefined) report.fail("meta.protocol", `no ${META_PROTOCOL}: routers take the service for another micro service and ignore it`);
  else if (!KNOWN_PROTOCOLS.has(protocol as string)) report.fail("meta.protocol", `${META_PROTOCOL} ${q(protocol)} is not a version routers speak (${[...KNOWN_PROTOCOLS].join(", ")})`);
  else report.pass("meta.protocol");

  const names: string[] = [];
  if (typeof info.name !== "string" || !PLUGIN_NAME.test(info.name)) names.push(`plugin name ${q(info.name)} does not match ${PLUGIN_NAME.source}`);
  if (typeof info.id !== "string" || !INSTANCE_ID.test(info.id)) names.push(`instance id ${q(info.id)} does not match ${INSTANCE_ID.source}`);
  if (semver.valid(version) !== version || version === "") names.push(`version ${q(info.version)} is not a semver 2.0 version`);
  report.check("meta.names", names);

  const claimedPrefix = meta[META_PREFIX];
  if (claimedPrefix === undefined) report.pass("meta.prefix", `no ${META_PREFIX}: routers assume their own`);
  else report.check("meta.prefix", claimedPrefix === prefix ? [] : [`${META_PREFIX} is ${q(claimedPrefix)}, the prefix in use is ${q(prefix)} (--prefix)`]);

  const own = instanceSubjectBase(prefix, plugin, id);
  const claimedSubject = meta[META_INSTANCE_SUBJECT];
  if (claimedSubject === undefined) report.pass("meta.instance_subject", `no ${META_INSTANCE_SUBJECT}: routers derive ${own}`);
  else report.check("meta.instance_subject", claimedSubject === own ? [] : [`${META_INSTANCE_SUBJECT} is ${q(claimedSubject)}, not the derived ${q(own)}`]);

  report.check("meta.endpoints", endpointProblems(info, { plugin, prefix, version }));

  const degraded = degradationsOf(info as unknown as InfoResponse);
  const line = (d: (typeof degraded)[number]) => d.endpoint === undefined ? d.reason : `endpoint "${d.endpoint}": ${d.reason}`;
  const isSchema = (key: string) => key === META_INPUT_SCHEMA || key === META_OUTPUT_SCHEMA;
  // Endpoints ignored whole are meta.endpoints' finding already.
  report.check("meta.schemas", degraded.filter((d) => isSchema(d.key)).map(line));
  report.check("meta.values", degraded.filter((d) => !isSchema(d.key) && d.key !== "endpoint" && d.key !== "endpoints").map(line));

  const admitted = new Registry(prefix).admit(info as unknown as InfoResponse, Date.now());
  if (admitted !== undefined && "reason" in admitted) report.fail("meta.admitted", `a router refuses the instance: ${admitted.reason}`);
  else report.pass("meta.admitted");
}

function endpointProblems(info: Record<string, unknown>, target: { plugin: string; prefix: string; version: string }): string[] {
  if (!Array.isArray(info.endpoints)) return ["INFO has no endpoints array"];
  if (info.endpoints.length === 0) return ["INFO lists no endpoint: the instance serves no method"];
  const base = versionSubjectBase(target.prefix, target.plugin, target.version);
  const queue = queueGroup(target.plugin, target.version);
  const problems: string[] = [];
  const seen = new Set<unknown>();
  for (const endpoint of info.endpoints as { name?: unknown; subject?: unknown; queue_group?: unknown }[]) {
    const name = endpoint?.name;
    if (typeof name !== "string" || !METHOD_NAME.test(name)) {
      problems.push(`endpoint name ${q(name)} does not match ${METHOD_NAME.source}: routers ignore the endpoint`);
      continue;
    }
    if (seen.has(name)) problems.push(`endpoint "${name}" is listed twice`);
    seen.add(name);
    if (endpoint.subject !== `${base}.${name}`) problems.push(`endpoint "${name}" has subject ${q(endpoint.subject)}, not the derived "${base}.${name}"`);
    if (endpoint.queue_group !== queue) problems.push(`endpoint "${name}" has queue group ${q(endpoint.queue_group)}, not "${queue}"`);
  }
  return problems;
}
