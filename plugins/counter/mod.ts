import * as v from "valibot";
import { definePlugin } from "../../src/plugin/mod.ts";

/** The count is per instance: an example of state, not a shared store. */
let count = 0;

const Count = v.object({ count: v.number() });

/** A counter whose increments are scaled by a configured `step`. */
export default definePlugin({
  name: "counter",
  version: "1.0.0",
  description: "Counts; each increment adds value × step (step comes from the plugin's options).",
  options: v.object({ step: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(1_000_000)), 1) }),
  methods: {
    increment: {
      input: v.object({ value: v.optional(v.pipe(v.number(), v.integer(), v.minValue(-1_000_000), v.maxValue(1_000_000)), 1) }),
      output: v.object({ count: v.number(), added: v.number() }),
      description: "Adds value × step and returns the new count.",
      handler: (input, ctx) => {
        const added = input.value * ctx.options.step;
        count += added;
        return { count, added };
      },
    },
    get: {
      input: v.object({}),
      output: Count,
      idempotent: true,
      handler: () => ({ count }),
    },
    reset: {
      input: v.object({}),
      output: Count,
      idempotent: true,
      handler: () => {
        count = 0;
        return { count };
      },
    },
  },
  init: () => {
    count = 0;
  },
});
