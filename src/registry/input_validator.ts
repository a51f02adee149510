import { Validator } from "@cfworker/json-schema";
import type { OutputUnit } from "@cfworker/json-schema";
import type { Issue } from "../errors.ts";
import { compileAcceptor } from "./fast_accept.ts";

// Keywords that only report that something below them failed; the leaf errors say what.
const AGGREGATE = new Set(["properties", "items", "prefixItems", "allOf", "$ref", "additionalItems", "contains"]);

/**
 * Checks inputs against a discovered JSON Schema (no code generation, so it also runs on edge
 * platforms that forbid `eval`). Returns the issues, or `undefined` when the input is valid.
 * Numbers JSON cannot carry (`1e309` parses to `Infinity`) are issues whatever the schema says:
 * they would reach the plugin as `Infinity` and come back as `null`.
 */
export type InputValidator = (input: unknown) => Issue[] | undefined;

/**
 * Compiles `schema` (draft 2020-12) into an {@linkcode InputValidator}. Inputs that plainly match
 * pass a closure-built check (`fast_accept.ts`, ~0.1 µs); the rest, and schemas with keywords that
 * check does not know, go through `@cfworker/json-schema` (3-8 µs), which also explains failures.
 */
export function createInputValidator(schema: Record<string, unknown>): InputValidator {
  const validator = new Validator(schema as never, "2020-12", false);
  const accept = compileAcceptor(schema);
  return (input) => {
    if (accept !== undefined && accept(input)) return undefined;
    const nonFinite = nonFiniteIssues(input, []);
    const result = validator.validate(input);
    if (result.valid) return nonFinite.length > 0 ? nonFinite : undefined;
    const issues = result.errors.filter((e) => !AGGREGATE.has(e.keyword)).map(toIssue);
    return [...nonFinite, ...(issues.length > 0 ? issues : result.errors.map(toIssue))];
  };
}

/** An issue per number JSON cannot carry, by dotted path (`isFiniteJson` in `fast_accept.ts` is the yes/no of it). */
function nonFiniteIssues(x: unknown, path: string[], out: Issue[] = []): Issue[] {
  if (typeof x === "number") {
    if (!Number.isFinite(x)) out.push({ path: path.join("."), message: "Must be a finite number (the value overflows)" });
  } else if (Array.isArray(x)) {
    for (let i = 0; i < x.length; i++) nonFiniteIssues(x[i], [...path, String(i)], out);
  } else if (typeof x === "object" && x !== null) {
    for (const key of Object.keys(x)) nonFiniteIssues((x as Record<string, unknown>)[key], [...path, key], out);
  }
  return out;
}

function toIssue(unit: OutputUnit): Issue {
  let path = unit.instanceLocation.replace(/^#\/?/, "").split("/").filter((s) => s !== "").map(unescapePointer);
  if (unit.keyword === "required") {
    const missing = /"([^"]+)"/.exec(unit.error)?.[1];
    if (missing !== undefined) path = [...path, missing];
    return { path: path.join("."), message: "Required" };
  }
  return { path: path.join("."), message: unit.error };
}

function unescapePointer(token: string): string {
  return decodeURIComponent(token).replaceAll("~1", "/").replaceAll("~0", "~");
}
