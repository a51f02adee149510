import { createInputValidator } from "../registry/mod.ts";

type Schema = Record<string, unknown>;

/** A value of another JSON type than each named type. */
const WRONG_VALUE: Readonly<Record<string, unknown>> = {
  string: 12345,
  number: "conformance",
  integer: "conformance",
  boolean: "conformance",
  array: "conformance",
  object: "conformance",
  null: "conformance",
};

/**
 * Inputs that the JSON Schema `schema` rejects, to send to a method that declared it: at most one
 * of the wrong JSON type, and one object that breaks a property rule (a required property missing,
 * a property of the wrong type, an unexpected property). Each candidate is checked against the
 * schema first, so only real violations are returned; none when the schema accepts everything.
 */
export function violatingInputs(schema: Schema): unknown[] {
  const validate = createInputValidator(schema);
  const rejected = (candidates: unknown[]) => candidates.find((c) => validate(c) !== undefined);
  const found: unknown[] = [];
  const wrongType = rejected(["conformance: not the declared input", 12345, null, [], true]);
  if (wrongType !== undefined) found.push(wrongType);
  const badObject = rejected(objectCandidates(schema));
  if (badObject !== undefined) found.push(badObject);
  return found;
}

function objectCandidates(schema: Schema): unknown[] {
  const out: unknown[] = [];
  const required = Array.isArray(schema.required) ? schema.required.filter((r): r is string => typeof r === "string") : [];
  if (required.length > 0) out.push({});
  const properties = typeof schema.properties === "object" && schema.properties !== null ? schema.properties as Record<string, Schema> : {};
  for (const [name, property] of Object.entries(properties)) {
    const type = Array.isArray(property?.type) ? property.type[0] : property?.type;
    const wrong = typeof type === "string" ? WRONG_VALUE[type] : undefined;
    if (wrong !== undefined) out.push({ [name]: wrong });
  }
  if (schema.additionalProperties === false) out.push({ conformance_unexpected_property: true });
  return out;
}
