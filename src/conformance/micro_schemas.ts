/**
 * The NATS micro v1 documents as JSON Schemas, as strict as the strictest micro client: the
 * schemas nats.io publishes (`io.nats.micro.v1.*`), plus the fields that clients such as
 * nats-py's `from_dict` read unconditionally (`metadata`, endpoint `queue_group`, `metadata` and
 * STATS `data`), plus the Switchyard parts (STATS `health`, instance events). docs/protocol.md
 * shows the same documents.
 * @module
 */
import { INFO_RESPONSE, PING_RESPONSE, STATS_RESPONSE } from "../bus/mod.ts";
import { createInputValidator } from "../registry/mod.ts";

type Schema = Record<string, unknown>;

const NAME: Schema = { type: "string", pattern: "^[a-zA-Z0-9_-]+$", minLength: 1 };
const ID: Schema = { type: "string", minLength: 1 };
const SEMVER: Schema = {
  type: "string",
  pattern:
    "^(0|[1-9]\\d*)\\.(0|[1-9]\\d*)\\.(0|[1-9]\\d*)(?:-((?:0|[1-9]\\d*|\\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\\.(?:0|[1-9]\\d*|\\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?(?:\\+([0-9a-zA-Z-]+(?:\\.[0-9a-zA-Z-]+)*))?$",
};
const METADATA: Schema = { type: "object", additionalProperties: { type: "string" } };
const INT: Schema = { type: "integer" };
const SUBJECT: Schema = { type: "string", minLength: 1 };

/** `$SRV.PING` replies. */
export const PING_SCHEMA: Schema = {
  type: "object",
  required: ["type", "name", "id", "version", "metadata"],
  properties: { type: { const: PING_RESPONSE }, name: NAME, id: ID, version: SEMVER, metadata: METADATA },
};

/** `$SRV.INFO` replies. */
export const INFO_SCHEMA: Schema = {
  type: "object",
  required: ["type", "name", "id", "version", "description", "metadata", "endpoints"],
  properties: {
    type: { const: INFO_RESPONSE },
    name: NAME,
    id: ID,
    version: SEMVER,
    description: { type: "string" },
    metadata: METADATA,
    endpoints: {
      type: "array",
      items: {
        type: "object",
        required: ["name", "subject", "queue_group", "metadata"],
        properties: { name: NAME, subject: SUBJECT, queue_group: { type: "string" }, metadata: METADATA },
      },
    },
  },
};

/** `$SRV.STATS` replies; `started` in UTC with fractional seconds, the one form every client parses. */
export const STATS_SCHEMA: Schema = {
  type: "object",
  required: ["type", "name", "id", "version", "started", "metadata", "endpoints"],
  properties: {
    type: { const: STATS_RESPONSE },
    name: NAME,
    id: ID,
    version: SEMVER,
    metadata: METADATA,
    started: { type: "string", pattern: "^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}\\.\\d{1,6}Z$" },
    endpoints: {
      type: "array",
      items: {
        type: "object",
        required: ["name", "subject", "queue_group", "num_requests", "num_errors", "last_error", "processing_time", "average_processing_time", "data"],
        properties: {
          name: NAME,
          subject: SUBJECT,
          queue_group: { type: "string" },
          num_requests: INT,
          num_errors: INT,
          last_error: { type: "string" },
          processing_time: INT,
          average_processing_time: INT,
          data: { type: ["object", "null"] },
        },
      },
    },
  },
};

/** STATS `health`: the instance's own view of its health. */
export const HEALTH_SCHEMA: Schema = {
  type: "object",
  required: ["status"],
  properties: { status: { enum: ["ok", "degraded", "unhealthy"] }, detail: { type: "string" } },
};

/** An announcement on `<prefix>.$events.<plugin>` by the instance itself. */
export const EVENT_SCHEMA: Schema = {
  type: "object",
  required: ["type", "info"],
  properties: { type: { enum: ["started", "draining", "stopped"] }, info: INFO_SCHEMA },
};

/** A 422 body's `issues`. */
export const ISSUES_SCHEMA: Schema = {
  type: "array",
  minItems: 1,
  items: { type: "object", required: ["path", "message"], properties: { path: { type: "string" }, message: { type: "string" } } },
};

/** Each way `value` breaks `schema`, as `path: message` (the root path is `(root)`). */
export function schemaProblems(schema: Schema, value: unknown): string[] {
  return (createInputValidator(schema)(value) ?? []).map((i) => `${i.path === "" ? "(root)" : i.path}: ${i.message}`);
}
