import * as v from "valibot";
import { definePlugin } from "../../src/plugin/mod.ts";

/** Greets by name. */
export default definePlugin({
  name: "hello",
  version: "1.2.0",
  description: "Greets by name.",
  methods: {
    greet: {
      input: v.object({ name: v.pipe(v.string(), v.minLength(1), v.maxLength(200)) }),
      output: v.object({ message: v.string() }),
      idempotent: true,
      description: "Returns a greeting for `name`.",
      handler: (input) => ({ message: `Hello, ${input.name}` }),
    },
  },
  health: () => ({ status: "ok" }),
});
