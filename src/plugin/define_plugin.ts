import type * as v from "valibot";
import type { AnyOptions, HealthStatus, InitContext, MethodSignatures, PluginContext } from "./context.ts";
// The grammar file has no imports of its own: the SDK stays free of NATS.
import { METHOD_NAME, PLUGIN_NAME } from "../bus/subjects.ts";

/** Any valibot schema. */
export type AnySchema = v.GenericSchema;

/** Semver 2.0 (the official pattern, without a leading `v`). */
const SEMVER =
  /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$/;

/** `ctx.options`' type for an `options` schema `S` (`{}`-like without one). */
export type OptionsOf<S> = S extends AnySchema ? Readonly<v.InferOutput<S>> : AnyOptions;

/** The methods' signatures of a definition, for typed `ctx.call` (see {@linkcode Plugin}). */
export type SignaturesOf<I extends Record<string, AnySchema>, O extends { [K in keyof I]: AnySchema }> = {
  readonly [K in keyof I & string]: { readonly input: v.InferInput<I[K]>; readonly output: v.InferOutput<O[K]> };
};

/** What every method has: schemas in and out, idempotency, a description. */
interface MethodBase<I extends AnySchema, O extends AnySchema> {
  input: I;
  /** The output's schema; of each item for a streaming method. */
  output: O;
  /** Safe to run twice: the router may retry it (a stream only before its first item). @default false */
  idempotent?: boolean;
  description?: string;
}

/** A method that answers one value. */
export interface UnaryMethodDefinition<I extends AnySchema = AnySchema, O extends AnySchema = AnySchema, Options = AnyOptions>
  extends MethodBase<I, O> {
  /** @default false */
  stream?: false;
  handler: (input: v.InferOutput<I>, ctx: PluginContext<Options>) => v.InferInput<O> | Promise<v.InferInput<O>>;
}

/**
 * A method that answers a stream of items: an `async function*` whose every yielded value is
 * checked against `output` and sent as it is produced (docs/streaming.md). `ctx.signal` aborts
 * when the caller goes away, the deadline passes or a drain runs out of time; the generator's
 * `finally` runs then.
 */
export interface StreamMethodDefinition<I extends AnySchema = AnySchema, O extends AnySchema = AnySchema, Options = AnyOptions>
  extends MethodBase<I, O> {
  stream: true;
  handler: (input: v.InferOutput<I>, ctx: PluginContext<Options>) => AsyncGenerator<v.InferInput<O>, void, undefined>;
}

/** One method: schemas in and out, and the handler between them; `stream: true` makes it a streaming method. */
export type MethodDefinition<I extends AnySchema = AnySchema, O extends AnySchema = AnySchema, Options = AnyOptions> =
  | UnaryMethodDefinition<I, O, Options>
  | StreamMethodDefinition<I, O, Options>;

/** What a plugin author writes. */
export interface PluginDefinition<
  N extends string,
  I extends Record<string, AnySchema>,
  O extends { [K in keyof I]: AnySchema },
  S extends AnySchema | undefined = undefined,
> {
  name: N;
  version: string;
  description?: string;
  /** Schema of the plugin's options (from config or `--options`); its output is `ctx.options`, typed. */
  options?: S;
  /**
   * Inferred per method, so each handler sees its own input type and must return its own output
   * type. (The second half only lets TypeScript infer `O` from each method's `output`.)
   */
  methods: { [K in keyof I]: MethodDefinition<I[K], O[K], OptionsOf<S>> } & { [K in keyof O]: { output: O[K] } };
  init?: (ctx: InitContext<OptionsOf<S>>) => void | Promise<void>;
  shutdown?: () => void | Promise<void>;
  health?: () => HealthStatus | Promise<HealthStatus>;
}

/**
 * A checked plugin definition, ready for the host. Its type carries its name and methods'
 * signatures, so another plugin can call it typed: `ctx.call<typeof hello, "greet">("hello", "greet", input)`
 * (with `import type hello from "../hello/mod.ts"`, which loads nothing at run time).
 */
export interface Plugin<N extends string = string, T extends MethodSignatures = MethodSignatures> {
  readonly isSwitchyardPlugin: true;
  readonly name: N;
  readonly version: string;
  readonly description: string;
  readonly options: AnySchema | undefined;
  // deno-lint-ignore no-explicit-any -- each method's handler sees its plugin's own options type
  readonly methods: Readonly<Record<string, MethodDefinition<AnySchema, AnySchema, any>>>;
  // deno-lint-ignore no-explicit-any -- as above
  readonly init: ((ctx: InitContext<any>) => void | Promise<void>) | undefined;
  readonly shutdown: (() => void | Promise<void>) | undefined;
  readonly health: (() => HealthStatus | Promise<HealthStatus>) | undefined;
  /** Type-only: the methods' signatures, for typed `ctx.call`. Never set at run time. */
  readonly "~methods"?: T;
}

/**
 * Checks a plugin definition (name, version and method grammars) and returns it frozen.
 * @throws {TypeError} when a name, the version or a method is malformed.
 */
export function definePlugin<
  const N extends string,
  I extends Record<string, AnySchema>,
  O extends { [K in keyof I]: AnySchema },
  S extends AnySchema | undefined = undefined,
>(def: PluginDefinition<N, I, O, S>): Plugin<N, SignaturesOf<I, O>> {
  if (!PLUGIN_NAME.test(def.name)) {
    throw new TypeError(`Plugin name "${def.name}" must match ${PLUGIN_NAME.source}`);
  }
  if (!SEMVER.test(def.version)) {
    throw new TypeError(`Plugin "${def.name}": version "${def.version}" is not semver (e.g. 1.2.0)`);
  }
  // deno-lint-ignore no-explicit-any -- checked here, typed by the definition
  const methods: Record<string, MethodDefinition<AnySchema, AnySchema, any>> = {};
  // deno-lint-ignore no-explicit-any -- as above
  for (const [name, method] of Object.entries(def.methods) as [string, MethodDefinition<AnySchema, AnySchema, any>][]) {
    if (!METHOD_NAME.test(name)) {
      throw new TypeError(`Plugin "${def.name}": method name "${name}" must match ${METHOD_NAME.source}`);
    }
    if (typeof method.handler !== "function" || !method.input || !method.output) {
      throw new TypeError(`Plugin "${def.name}": method "${name}" needs input, output and handler`);
    }
    const stream = (method as { stream?: unknown }).stream;
    if (stream !== undefined && typeof stream !== "boolean") {
      throw new TypeError(`Plugin "${def.name}": method "${name}": stream must be true or false`);
    }
    methods[name] = method;
  }
  if (Object.keys(methods).length === 0) throw new TypeError(`Plugin "${def.name}" has no methods`);
  return Object.freeze({
    isSwitchyardPlugin: true,
    name: def.name,
    version: def.version,
    description: def.description ?? "",
    options: def.options,
    methods: Object.freeze(methods),
    init: def.init,
    shutdown: def.shutdown,
    health: def.health,
  });
}

/** True for a value made by {@linkcode definePlugin}, from this bundle or another. */
export function isPlugin(value: unknown): value is Plugin {
  return typeof value === "object" && value !== null && (value as Plugin).isSwitchyardPlugin === true;
}
