/**
 * Attribute checks and limits for the lean tracer's spans, as the SDK applies them (OpenTelemetry's
 * AnyValue for span and link attributes, "simple" values for events, count and length limits), kept
 * as a flat `[key, value, key, value, …]` list. Values are checked and copied in one pass; a cycle
 * is caught by a depth limit instead of a `WeakSet` per value.
 * @module
 */
import { diag } from "@opentelemetry/api";

type Env = Readonly<Record<string, string | undefined>>;

/** The SDK's span limits (`OTEL_*_LIMIT`), resolved. */
export interface SpanLimits {
  readonly attributeCountLimit: number;
  readonly attributeValueLengthLimit: number;
  readonly eventCountLimit: number;
  readonly linkCountLimit: number;
  readonly attributePerEventCountLimit: number;
  readonly attributePerLinkCountLimit: number;
}

/** What a value that is not an attribute value is copied to. */
export const INVALID: unique symbol = Symbol("invalid attribute value");
/** Nesting deeper than this is not an attribute value (and ends a cycle). */
const MAX_DEPTH = 32;

/** The limits the `OTEL_*` variables set, with the SDK's defaults (128 of each, values unlimited). */
export function spanLimitsFromEnv(env: Env): SpanLimits {
  const n = (name: string): number | undefined => {
    const raw = env[name];
    if (raw === undefined || raw.trim() === "") return undefined;
    const value = Number(raw);
    if (Number.isNaN(value)) {
      diag.warn(`Unknown value ${raw} for ${name}, expected a number, using defaults`);
      return undefined;
    }
    return value;
  };
  let length = n("OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT") ?? n("OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT") ?? Infinity;
  if (length <= 0) {
    diag.warn(`Invalid attributeValueLengthLimit: must be positive, got ${length} (ignoring)`);
    length = Infinity;
  }
  return {
    attributeCountLimit: n("OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT") ?? n("OTEL_ATTRIBUTE_COUNT_LIMIT") ?? 128,
    attributeValueLengthLimit: length,
    eventCountLimit: n("OTEL_SPAN_EVENT_COUNT_LIMIT") ?? 128,
    linkCountLimit: n("OTEL_SPAN_LINK_COUNT_LIMIT") ?? 128,
    attributePerEventCountLimit: n("OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT") ?? n("OTEL_SPAN_ATTRIBUTE_PER_EVENT_COUNT_LIMIT") ?? 128,
    attributePerLinkCountLimit: n("OTEL_LINK_ATTRIBUTE_COUNT_LIMIT") ?? n("OTEL_SPAN_ATTRIBUTE_PER_LINK_COUNT_LIMIT") ?? 128,
  };
}

/**
 * `value` as an AnyValue (string, number, boolean, null, bytes, arrays and plain objects of these),
 * copied and with strings and bytes cut to `limit`; {@linkcode INVALID} if it is not one.
 */
export function anyValue(value: unknown, limit: number, depth = 0): unknown {
  switch (typeof value) {
    case "string":
      return value.length <= limit ? value : value.substring(0, limit);
    case "number":
    case "boolean":
      return value;
    case "object":
      break;
    default:
      return INVALID;
  }
  if (value === null) return null;
  if (value instanceof Uint8Array) return value.length <= limit ? value : value.slice(0, limit);
  if (depth >= MAX_DEPTH) return INVALID;
  if (Array.isArray(value)) {
    const out = new Array<unknown>(value.length);
    for (let i = 0; i < value.length; i++) {
      const item: unknown = value[i];
      if (item === undefined) continue;
      const copy = anyValue(item, limit, depth + 1);
      if (copy === INVALID) return INVALID;
      out[i] = copy;
    }
    return out;
  }
  const proto = (value as object).constructor;
  if (proto !== Object && proto !== undefined) return INVALID;
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(value)) {
    const item = (value as Record<string, unknown>)[k];
    if (item === undefined) continue;
    const copy = anyValue(item, limit, depth + 1);
    if (copy === INVALID) return INVALID;
    out[k] = copy;
  }
  return out;
}

/** `value` as a "simple" attribute value (a primitive, or an array of one primitive type and nulls), copied and cut; else {@linkcode INVALID}. */
export function simpleValue(value: unknown, limit: number): unknown {
  if (!Array.isArray(value)) {
    const t = typeof value;
    return t === "string" || t === "number" || t === "boolean" ? anyValue(value, limit) : INVALID;
  }
  let type: string | undefined;
  for (const item of value) {
    if (item == null) continue;
    const t = typeof item;
    if (t === type) continue;
    if (type !== undefined || (t !== "string" && t !== "number" && t !== "boolean")) return INVALID;
    type = t;
  }
  return anyValue(value, limit);
}

/** How {@linkcode setAttribute} went: set, or ignored (an `undefined` value, or one that is not an attribute value, warned), or dropped at the count limit. */
export const PUT_ADDED = 0;
export const PUT_IGNORED = 1;
export const PUT_DROPPED = 2;

/**
 * Sets `key` in the flat list `list` (as the SDK's `Span.setAttribute`): an existing key is
 * replaced in place, a new one appended while fewer than `countLimit` are set.
 */
export function setAttribute(list: unknown[], key: string, value: unknown, countLimit: number, lengthLimit: number): number {
  if (value === undefined) return PUT_IGNORED;
  if (key.length === 0) {
    diag.warn(`Invalid attribute key: ${key}`);
    return PUT_IGNORED;
  }
  let at = -1;
  for (let i = 0; i < list.length; i += 2) {
    if (list[i] === key) {
      at = i;
      break;
    }
  }
  if (at < 0 && list.length >= 2 * countLimit) return PUT_DROPPED;
  const copy = anyValue(value, lengthLimit);
  if (copy === INVALID) {
    diag.warn(`Invalid attribute value set for key: ${key}`);
    return PUT_IGNORED;
  }
  if (at < 0) list.push(key, copy);
  else list[at + 1] = copy;
  return PUT_ADDED;
}

/**
 * `attributes` as a fresh flat list (as the SDK's `cleanAttributes`): `undefined` values skipped,
 * invalid ones and those over `countLimit` dropped and counted.
 */
export function cleanAttributes(attributes: object, countLimit: number, lengthLimit: number, simple: boolean): CleanAttributes {
  const list: unknown[] = [];
  let lost = 0;
  for (const key in attributes) {
    if (!Object.prototype.hasOwnProperty.call(attributes, key)) continue;
    const value = (attributes as Record<string, unknown>)[key];
    if (value === undefined) continue;
    if (list.length >= 2 * countLimit) {
      lost++;
      continue;
    }
    if (key.length === 0) {
      diag.warn(`Invalid attribute key: ${key}`);
      lost++;
      continue;
    }
    const copy = simple ? simpleValue(value, lengthLimit) : anyValue(value, lengthLimit);
    if (copy === INVALID) {
      diag.warn(`Invalid attribute value set for key: ${key}`);
      lost++;
      continue;
    }
    list.push(key, copy);
  }
  return { list, dropped: lost };
}

/** Attributes as {@linkcode cleanAttributes} kept them, and how many it dropped. */
export interface CleanAttributes {
  readonly list: unknown[];
  readonly dropped: number;
}
