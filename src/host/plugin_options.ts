import * as v from "valibot";
import type { Plugin } from "../plugin/mod.ts";

/**
 * Checks options against the plugin's `options` schema (defaults applied).
 * @throws {TypeError} naming each problem by dotted path.
 */
export function parsePluginOptions(plugin: Plugin, raw: unknown): Readonly<Record<string, unknown>> {
  if (plugin.options === undefined) return Object.freeze({ ...(raw as Record<string, unknown> ?? {}) });
  const result = v.safeParse(plugin.options, raw ?? {});
  if (!result.success) {
    const problems = result.issues.map((i) => `options.${v.getDotPath(i) ?? ""}: ${i.message}`);
    throw new TypeError(`Plugin "${plugin.name}" got invalid options: ${problems.join("; ")}`);
  }
  return Object.freeze(result.output as Record<string, unknown>);
}
