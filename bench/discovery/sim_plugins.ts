/**
 * The plugins the discovery benchmark simulates: P names, version 1.0.0, each with plugins/hello's
 * `greet` method and a second one, `add`, so every INFO carries real JSON Schema metadata.
 * @module
 */
import * as v from "valibot";
import { definePlugin } from "../../src/plugin/mod.ts";
import type { Plugin } from "../../src/plugin/mod.ts";

/** The version every simulated instance serves. */
export const SIM_VERSION = "1.0.0";

/** `sim-00`, `sim-01`, … (plugin names sort in creation order up to 100). */
export function simPluginNames(count: number): string[] {
  if (!Number.isInteger(count) || count < 1 || count > 100) {
    throw new RangeError(`plugins must be 1..100, got ${count}`);
  }
  return Array.from({ length: count }, (_, i) => `sim-${String(i).padStart(2, "0")}`);
}

/** One simulated plugin: what a real instance of it would serve, with the host's own definition API. */
export function simPlugin(name: string): Plugin {
  return definePlugin({
    name,
    version: SIM_VERSION,
    description: `Simulated plugin ${name}: greets by name and adds numbers.`,
    methods: {
      greet: {
        input: v.object({ name: v.pipe(v.string(), v.minLength(1), v.maxLength(200)) }),
        output: v.object({ message: v.string() }),
        idempotent: true,
        description: "Returns a greeting for `name`.",
        handler: (input) => ({ message: `Hello, ${input.name}` }),
      },
      add: {
        input: v.object({ a: v.number(), b: v.number() }),
        output: v.object({ sum: v.number() }),
        description: "Returns `a + b`.",
        handler: (input) => ({ sum: input.a + input.b }),
      },
    },
    health: () => ({ status: "ok" }),
  });
}
