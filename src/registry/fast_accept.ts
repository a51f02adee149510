/**
 * A quick yes for inputs that plainly match a JSON Schema, built from closures (no code
 * generation, so it runs where `eval` is forbidden). It knows only the keywords plugin schemas
 * mostly use; a schema with any other keyword gets no acceptor at all. An input it does not accept
 * may still be valid: the full validator decides, and explains. So it must never accept an input
 * the full validator rejects, and everything here errs to "not accepted". The full validator
 * rejects numbers JSON cannot carry (`1e309` parses to `Infinity`), so an acceptor accepts only
 * finite numbers, wherever the schema leaves a value unconstrained too.
 * @module
 */

/** True when `input` certainly matches; false means "ask the full validator". */
export type Acceptor = (input: unknown) => boolean;

type Schema = Record<string, unknown>;

/** Keywords that only annotate and never change validity. */
const ANNOTATIONS = new Set(["title", "description", "default", "examples", "deprecated", "readOnly", "writeOnly", "$comment"]);
const HANDLED = new Set([
  "type",
  "properties",
  "required",
  "additionalProperties",
  "items",
  "minItems",
  "maxItems",
  "minLength",
  "maxLength",
  "minimum",
  "maximum",
  "exclusiveMinimum",
  "exclusiveMaximum",
  "enum",
  "const",
  "pattern",
  "anyOf",
  "allOf",
]);

/** The acceptor of `schema`, or `undefined` when it uses a keyword this module does not know. */
export function compileAcceptor(schema: unknown): Acceptor | undefined {
  if (schema === true) return isFiniteJson;
  if (typeof schema !== "object" || schema === null || Array.isArray(schema)) return undefined;
  const s = schema as Schema;
  const checks: Acceptor[] = [];
  for (const key of Object.keys(s)) {
    if (ANNOTATIONS.has(key)) continue;
    if (!HANDLED.has(key)) return undefined;
  }
  if (s.type !== undefined) {
    const types = Array.isArray(s.type) ? s.type : [s.type];
    if (!types.every((t) => typeof t === "string" && TYPE_CHECKS[t] !== undefined)) return undefined;
    const fns = types.map((t) => TYPE_CHECKS[t as string]!);
    checks.push(fns.length === 1 ? fns[0]! : (x) => fns.some((f) => f(x)));
  }
  if (s.enum !== undefined) {
    if (!Array.isArray(s.enum) || !s.enum.every(isPrimitive)) return undefined;
    const allowed = new Set(s.enum);
    checks.push((x) => allowed.has(x as never));
  }
  if (s.const !== undefined) {
    if (!isPrimitive(s.const)) return undefined;
    const value = s.const;
    checks.push((x) => x === value);
  }
  // anyOf holds when one branch certainly holds; allOf when each does. (oneOf would need a certain
  // "no" from the other branches, which acceptors cannot give.)
  for (const key of ["anyOf", "allOf"] as const) {
    const list = s[key];
    if (list === undefined) continue;
    if (!Array.isArray(list) || list.length === 0) return undefined;
    const branches = list.map(compileAcceptor);
    if (branches.some((b) => b === undefined)) return undefined;
    const fns = branches as Acceptor[];
    checks.push(key === "anyOf" ? (x) => fns.some((f) => f(x)) : (x) => fns.every((f) => f(x)));
  }
  const stringCheck = compileString(s);
  if (stringCheck === null) return undefined;
  if (stringCheck !== undefined) checks.push((x) => typeof x !== "string" || stringCheck(x));
  const numberCheck = compileNumber(s);
  if (numberCheck === null) return undefined;
  if (numberCheck !== undefined) checks.push((x) => typeof x !== "number" || numberCheck(x));
  const objectCheck = compileObject(s);
  if (objectCheck === null) return undefined;
  if (objectCheck !== undefined) checks.push((x) => !isObject(x) || objectCheck(x));
  else if (allows(s, "object")) checks.push((x) => !isObject(x) || isFiniteJson(x));
  const arrayCheck = compileArray(s);
  if (arrayCheck === null) return undefined;
  if (arrayCheck !== undefined) checks.push((x) => !Array.isArray(x) || arrayCheck(x));
  else if (allows(s, "array")) checks.push((x) => !Array.isArray(x) || isFiniteJson(x));
  // With a `type`, TYPE_CHECKS already refuse non-finite numbers.
  if (s.type === undefined) checks.push((x) => typeof x !== "number" || Number.isFinite(x));
  if (checks.length === 1) return checks[0];
  return (x) => {
    for (let i = 0; i < checks.length; i++) if (!checks[i]!(x)) return false;
    return true;
  };
}

const TYPE_CHECKS: Record<string, Acceptor> = {
  string: (x) => typeof x === "string",
  number: (x) => typeof x === "number" && Number.isFinite(x),
  integer: (x) => typeof x === "number" && Number.isInteger(x),
  boolean: (x) => typeof x === "boolean",
  null: (x) => x === null,
  object: isObject,
  array: Array.isArray,
};

/** Whether a schema's `type` (absent: any) lets values of `type` through. */
function allows(s: Schema, type: string): boolean {
  return s.type === undefined || s.type === type || (Array.isArray(s.type) && s.type.includes(type));
}

/** True when `x` holds no number JSON cannot carry (`Infinity`, `-Infinity`, `NaN`), at any depth. */
export function isFiniteJson(x: unknown): boolean {
  if (typeof x === "number") return Number.isFinite(x);
  if (typeof x !== "object" || x === null) return true;
  if (Array.isArray(x)) {
    for (let i = 0; i < x.length; i++) if (!isFiniteJson(x[i])) return false;
    return true;
  }
  for (const key in x) if (Object.hasOwn(x, key) && !isFiniteJson((x as Record<string, unknown>)[key])) return false;
  return true;
}

function isObject(x: unknown): x is Record<string, unknown> {
  return typeof x === "object" && x !== null && !Array.isArray(x);
}

function isPrimitive(x: unknown): boolean {
  return x === null || typeof x === "string" || typeof x === "number" || typeof x === "boolean";
}

function isCount(x: unknown): x is number {
  return typeof x === "number" && Number.isInteger(x) && x >= 0;
}

/** `undefined`: no string keyword; `null`: one it cannot check. */
function compileString(s: Schema): ((x: string) => boolean) | undefined | null {
  const { minLength, maxLength, pattern } = s;
  if (minLength === undefined && maxLength === undefined && pattern === undefined) return undefined;
  if ((minLength !== undefined && !isCount(minLength)) || (maxLength !== undefined && !isCount(maxLength))) return null;
  let re: RegExp | undefined;
  if (pattern !== undefined) {
    if (typeof pattern !== "string") return null;
    try {
      re = new RegExp(pattern, "u");
    } catch {
      return null;
    }
  }
  const min = minLength ?? 0;
  const max = maxLength ?? Infinity;
  return (x) => {
    // JSON Schema counts code points; UTF-16 length is an upper bound of that count.
    if (x.length > max || x.length < min) {
      const points = codePoints(x);
      if (points > max || points < min) return false;
    } else if (min > 0 && x.length < 2 * min && codePoints(x) < min) {
      return false;
    }
    return re === undefined || re.test(x);
  };
}

function codePoints(x: string): number {
  let n = 0;
  for (let i = 0; i < x.length; i++) {
    const c = x.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < x.length) {
      const d = x.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) i++;
    }
    n++;
  }
  return n;
}

function compileNumber(s: Schema): ((x: number) => boolean) | undefined | null {
  const bounds = [s.minimum, s.maximum, s.exclusiveMinimum, s.exclusiveMaximum];
  if (bounds.every((b) => b === undefined)) return undefined;
  if (!bounds.every((b) => b === undefined || (typeof b === "number" && Number.isFinite(b)))) return null;
  const [min, max, xmin, xmax] = bounds.map((b) => b as number | undefined);
  return (x) =>
    (min === undefined || x >= min) && (max === undefined || x <= max) && (xmin === undefined || x > xmin) &&
    (xmax === undefined || x < xmax);
}

function compileObject(s: Schema): ((x: Record<string, unknown>) => boolean) | undefined | null {
  const { properties, required, additionalProperties } = s;
  if (properties === undefined && required === undefined && additionalProperties === undefined) return undefined;
  if (properties !== undefined && !isObject(properties)) return null;
  if (required !== undefined && !(Array.isArray(required) && required.every((r) => typeof r === "string"))) return null;
  const props = new Map<string, Acceptor>();
  for (const [name, sub] of Object.entries(properties ?? {})) {
    const acceptor = compileAcceptor(sub);
    if (acceptor === undefined) return null;
    props.set(name, acceptor);
  }
  let extra: Acceptor | undefined;
  if (additionalProperties === false) extra = () => false;
  else if (additionalProperties !== undefined && additionalProperties !== true) {
    extra = compileAcceptor(additionalProperties);
    if (extra === undefined) return null;
  }
  const needed = (required ?? []) as string[];
  return (x) => {
    for (let i = 0; i < needed.length; i++) if (!Object.hasOwn(x, needed[i]!)) return false;
    for (const key in x) {
      if (!Object.hasOwn(x, key)) continue;
      const check = props.get(key);
      if (check !== undefined) {
        if (!check(x[key])) return false;
      } else if (extra !== undefined ? !extra(x[key]) : !isFiniteJson(x[key])) {
        return false;
      }
    }
    return true;
  };
}

function compileArray(s: Schema): ((x: unknown[]) => boolean) | undefined | null {
  const { items, minItems, maxItems } = s;
  if (items === undefined && minItems === undefined && maxItems === undefined) return undefined;
  if ((minItems !== undefined && !isCount(minItems)) || (maxItems !== undefined && !isCount(maxItems))) return null;
  let each: Acceptor | undefined;
  if (items !== undefined) {
    each = compileAcceptor(items);
    if (each === undefined) return null;
  }
  const min = minItems ?? 0;
  const max = maxItems ?? Infinity;
  return (x) => {
    if (x.length < min || x.length > max) return false;
    const check = each ?? isFiniteJson;
    for (let i = 0; i < x.length; i++) if (!check(x[i])) return false;
    return true;
  };
}
