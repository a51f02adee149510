/**
 * The plugin SDK: what a plugin author imports. No NATS, no Hono.
 *
 * @example
 * ```ts
 * import { definePlugin } from "switchyard/plugin";
 * import * as v from "valibot";
 *
 * export default definePlugin({
 *   name: "hello",
 *   version: "1.2.0",
 *   methods: {
 *     greet: {
 *       input: v.object({ name: v.pipe(v.string(), v.maxLength(200)) }),
 *       output: v.object({ message: v.string() }),
 *       idempotent: true,
 *       handler: (input) => ({ message: `Hello, ${input.name}` }),
 *     },
 *   },
 * });
 * ```
 * @module
 */
export { definePlugin, isPlugin } from "./define_plugin.ts";
export { METHOD_NAME, PLUGIN_NAME } from "../bus/subjects.ts";
export { PluginError } from "./plugin_error.ts";
export type {
  AnySchema,
  MethodDefinition,
  OptionsOf,
  Plugin,
  PluginDefinition,
  SignaturesOf,
  StreamMethodDefinition,
  UnaryMethodDefinition,
} from "./define_plugin.ts";
export type { PluginErrorOptions } from "./plugin_error.ts";
export type {
  AnyOptions,
  CallablePlugin,
  CallInput,
  CallOptions,
  CallOutput,
  HealthStatus,
  InitContext,
  MethodOf,
  MethodSignatures,
  PluginContext,
  Principal,
} from "./context.ts";
export type { Logger } from "../deps.ts";
