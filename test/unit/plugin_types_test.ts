/**
 * What a plugin author's types say, checked by the type-check that runs before the suite
 * (`scripts/check.sh`): `ctx.options` is typed by the plugin's options schema, and a typed
 * `ctx.call` checks the callee's method name and input and gives its output type.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as v from "valibot";
import { definePlugin } from "../../src/plugin/mod.ts";
import type { CallInput, CallOutput, MethodOf } from "../../src/plugin/mod.ts";
import type hello from "../../plugins/hello/mod.ts";
import type counter from "../../plugins/counter/mod.ts";

/** Compile-time: `true` only when `A` and `B` are assignable both ways (the same shape). */
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const same = <A, B>(check: Same<A, B>) => check;

test("typed ctx.options and ctx.call", () => {
  // The callee's signature, from `typeof` its module's default export.
  same<MethodOf<typeof hello>, "greet">(true);
  same<CallInput<typeof hello, "greet">, { name: string }>(true);
  same<CallOutput<typeof hello, "greet">, { message: string }>(true);
  same<MethodOf<typeof counter>, "increment" | "get" | "reset">(true);

  const caller = definePlugin({
    name: "caller",
    version: "1.0.0",
    options: v.object({ greeting: v.optional(v.string(), "hi"), times: v.number() }),
    methods: {
      run: {
        input: v.object({}),
        output: v.object({ text: v.string() }),
        handler: async (_input, ctx) => {
          same<typeof ctx.options.greeting, string>(true);
          same<typeof ctx.options.times, number>(true);
          // @ts-expect-error: no such option
          void ctx.options.nope;
          const greeted = await ctx.call<typeof hello, "greet">("hello", "greet", { name: "Ada" });
          same<typeof greeted, { message: string }>(true);
          // @ts-expect-error: the input must match hello.greet's schema
          await ctx.call<typeof hello, "greet">("hello", "greet", { name: 5 });
          // @ts-expect-error: hello has no such method
          await ctx.call<typeof hello, "nope">("hello", "nope", {});
          // @ts-expect-error: the name must be the callee's
          await ctx.call<typeof hello, "greet">("helo", "greet", { name: "Ada" });
          // Untyped calls stay possible; their input is checked at run time.
          const loose = await ctx.call<{ count: number }>("counter", "get", {});
          same<typeof loose, { count: number }>(true);
          return { text: `${ctx.options.greeting} ${greeted.message}` };
        },
      },
    },
  });
  assert.equal(caller.name, "caller");
  same<typeof caller.name, "caller">(true);
});

test("streaming methods: the handler is an async generator of the output schema's items; ctx.stream is typed", () => {
  const streamer = definePlugin({
    name: "streamer",
    version: "1.0.0",
    methods: {
      ticks: {
        input: v.object({ n: v.number() }),
        output: v.object({ i: v.number() }),
        stream: true,
        handler: async function* (input, ctx) {
          same<typeof input, { n: number }>(true);
          for (let i = 0; i < input.n && !ctx.signal.aborted; i++) yield { i };
        },
      },
      bad: {
        input: v.object({}),
        output: v.object({ i: v.number() }),
        stream: true,
        // @ts-expect-error: the items must match the output schema
        handler: async function* () {
          yield { i: "one" };
        },
      },
      // @ts-expect-error: a streaming method's handler is an async generator
      notAGenerator: {
        input: v.object({}),
        output: v.object({ i: v.number() }),
        stream: true,
        handler: () => ({ i: 1 }),
      },
      unary: {
        input: v.object({}),
        output: v.object({ ok: v.boolean() }),
        handler: () => ({ ok: true }),
      },
    },
  });
  same<CallOutput<typeof streamer, "ticks">, { i: number }>(true);
  const consumer = definePlugin({
    name: "consumer",
    version: "1.0.0",
    methods: {
      sum: {
        input: v.object({}),
        output: v.object({ total: v.number() }),
        handler: async (_input, ctx) => {
          let total = 0;
          for await (const item of ctx.stream<typeof streamer, "ticks">("streamer", "ticks", { n: 3 })) {
            same<typeof item, { i: number }>(true);
            total += item.i;
          }
          // @ts-expect-error: the input must match streamer.ticks's schema
          ctx.stream<typeof streamer, "ticks">("streamer", "ticks", { n: "3" });
          for await (const loose of ctx.stream<{ i: number }>("streamer", "ticks", { n: 1 })) {
            total += loose.i;
          }
          return { total };
        },
      },
    },
  });
  assert.equal(streamer.methods.ticks!.stream, true);
  assert.equal(consumer.name, "consumer");
});
