import * as v from "valibot";
import type { Issue } from "../errors.ts";

/** The dotted path of the first number JSON cannot carry (Infinity, NaN) in `x`, if any. */
export function nonFinitePath(x: unknown, path: string): string | undefined {
  if (typeof x === "number") return Number.isFinite(x) ? undefined : path;
  if (typeof x !== "object" || x === null) return undefined;
  for (const [key, value] of Object.entries(x)) {
    const found = nonFinitePath(value, path === "" ? key : `${path}.${key}`);
    if (found !== undefined) return found;
  }
  return undefined;
}

/** valibot issues as dotted paths and messages. */
export function toIssues(issues: readonly v.BaseIssue<unknown>[]): Issue[] {
  return issues.map((issue) => ({ path: v.getDotPath(issue) ?? "", message: issue.message }));
}
