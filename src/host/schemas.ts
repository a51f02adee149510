import { toJsonSchema } from "@valibot/to-json-schema";
import type { MethodDefinition } from "../plugin/mod.ts";
import { META_DESCRIPTION, META_IDEMPOTENT, META_INPUT_SCHEMA, META_OUTPUT_SCHEMA, META_STREAM } from "../bus/mod.ts";

/** JSON Schema (draft 2020-12, as OpenAPI 3.1 uses) of a valibot schema; parts it can't express are left open. */
export function jsonSchemaOf(schema: MethodDefinition["input"]): Record<string, unknown> {
  const json = toJsonSchema(schema, { target: "draft-2020-12", errorMode: "ignore" }) as Record<string, unknown>;
  delete json.$schema;
  return json;
}

/** A method's micro endpoint metadata: its schemas as JSON text, idempotency, streaming, description. */
export function endpointMetadata(method: MethodDefinition): Record<string, string> {
  const metadata: Record<string, string> = {
    [META_INPUT_SCHEMA]: JSON.stringify(jsonSchemaOf(method.input)),
    [META_OUTPUT_SCHEMA]: JSON.stringify(jsonSchemaOf(method.output)),
    [META_IDEMPOTENT]: String(method.idempotent === true),
  };
  if (method.stream === true) metadata[META_STREAM] = "true";
  if (method.description !== undefined) metadata[META_DESCRIPTION] = method.description;
  return metadata;
}
