import semver from "semver";
import {
  META_IDEMPOTENT,
  META_INPUT_SCHEMA,
  META_OUTPUT_SCHEMA,
  META_REQUIRES,
  META_WEIGHT,
  METHOD_NAME,
  PLUGIN_NAME,
} from "../bus/mod.ts";
import type { InfoResponse } from "../bus/mod.ts";

/** One part of an admitted INFO that the registry ignores or replaces with a default. */
export interface Degradation {
  /** The metadata key concerned (`sy.weight`, `sy.input_schema`…), `endpoints`, or `endpoint` for an endpoint ignored whole. */
  readonly key: string;
  /** The endpoint (method) it belongs to, for endpoint metadata. */
  readonly endpoint?: string;
  /** What is wrong and what the router does instead. */
  readonly reason: string;
}

/**
 * What a router takes from `info` only in part: metadata it ignores or replaces with a default
 * (a weight that is not a positive number, a schema that is not JSON, an endpoint whose name is
 * not a method name…). Mirrors how {@linkcode Registry.admit} reads an INFO, so discovery can log
 * each instance's list once and `switchyard conformance` can report the same list.
 */
export function degradationsOf(info: InfoResponse): Degradation[] {
  const out: Degradation[] = [];
  const meta = typeof info.metadata === "object" && info.metadata !== null ? info.metadata as Record<string, unknown> : {};
  for (const [key, value] of Object.entries(meta)) {
    if (typeof value !== "string") out.push({ key, reason: `${key} is not a string (micro metadata values are strings)` });
  }
  const weight = meta[META_WEIGHT];
  if (typeof weight === "string" && !(Number.isFinite(Number(weight)) && Number(weight) > 0)) {
    out.push({ key: META_WEIGHT, reason: `${META_WEIGHT} ${quote(weight)} is not a positive number: the weight is 1` });
  }
  const requires = meta[META_REQUIRES];
  if (typeof requires === "string") out.push(...requiresProblems(requires));
  if (!Array.isArray(info.endpoints)) {
    out.push({ key: "endpoints", reason: "endpoints is not an array: the instance serves no method" });
    return out;
  }
  for (const endpoint of info.endpoints as unknown[]) {
    const e = endpoint as { name?: unknown; metadata?: unknown } | null;
    if (typeof e?.name !== "string" || !METHOD_NAME.test(e.name)) {
      out.push({ key: "endpoint", reason: `endpoint ${quote(e?.name)} is not a method name: ignored` });
      continue;
    }
    const name = e.name;
    const em = typeof e.metadata === "object" && e.metadata !== null ? e.metadata as Record<string, unknown> : {};
    for (const [key, value] of Object.entries(em)) {
      if (typeof value !== "string") out.push({ key, endpoint: name, reason: `${key} is not a string (micro metadata values are strings)` });
    }
    const inputProblem = schemaProblem(em[META_INPUT_SCHEMA]);
    if (inputProblem !== undefined) {
      out.push({ key: META_INPUT_SCHEMA, endpoint: name, reason: `${META_INPUT_SCHEMA} ${inputProblem}: the router does not check inputs` });
    }
    const outputProblem = schemaProblem(em[META_OUTPUT_SCHEMA]);
    if (outputProblem !== undefined) {
      out.push({ key: META_OUTPUT_SCHEMA, endpoint: name, reason: `${META_OUTPUT_SCHEMA} ${outputProblem}: the catalog shows any output` });
    }
    const idempotent = em[META_IDEMPOTENT];
    if (typeof idempotent === "string" && idempotent !== "true" && idempotent !== "false") {
      out.push({ key: META_IDEMPOTENT, endpoint: name, reason: `${META_IDEMPOTENT} ${quote(idempotent)} is neither "true" nor "false": not retried` });
    }
  }
  return out;
}

/** Why a schema metadata value is not a JSON Schema object, or `undefined` when it is one. */
function schemaProblem(text: unknown): string | undefined {
  if (text === undefined) return "is missing";
  if (typeof text !== "string") return "is not a string";
  let schema: unknown;
  try {
    schema = JSON.parse(text);
  } catch {
    return "is not JSON";
  }
  return typeof schema === "object" && schema !== null && !Array.isArray(schema) ? undefined : "is not a JSON Schema object";
}

function requiresProblems(text: string): Degradation[] {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return [{ key: META_REQUIRES, reason: `${META_REQUIRES} is not JSON: ignored` }];
  }
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    return [{ key: META_REQUIRES, reason: `${META_REQUIRES} is not a JSON object: ignored` }];
  }
  return Object.entries(raw)
    .filter(([name, range]) => !PLUGIN_NAME.test(name) || typeof range !== "string" || semver.validRange(range) === null)
    .map(([name]) => ({ key: META_REQUIRES, reason: `${META_REQUIRES} entry ${quote(name)} is not a plugin name with a semver range: ignored` }));
}

/** A value for a log line: quoted, cut short, so a hostile value cannot flood it. */
function quote(value: unknown): string {
  return JSON.stringify(String(value).slice(0, 64));
}
