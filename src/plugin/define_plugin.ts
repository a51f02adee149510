import type * as v from "valibot";
import type { HealthStatus, InitContext, PluginContext } from "./context.ts";
// The grammar file has no imports of its own: the SDK stays free of NATS.
import { METHOD_NAME, PLUGIN_NAME } from "../bus/subjects.ts";

/** Any valibot schema. */
export type AnySchema = v.GenericSchema;

/** Semver 2.0 (the official pattern, without a leading `v`). */
const SEMVER =
  /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$/;

/** One method: schemas in and out, and the handler between them. */
export interface MethodDefinition<I extends AnySchema = AnySchema, O extends AnySchema = AnySchema> {
  input: I;
  output: O;
  /** Safe to run twice: the router may retry it. @default false */
  idempotent?: boolean;
  description?: string;
  handler: (input: v.InferOutput<I>, ctx: PluginContext) => v.InferInput<O> | Promise<v.InferInput<O>>;
}

/** What a plugin author writes. */
export interface PluginDefinition<
  I extends Record<string, AnySchema>,
  O extends { [K in keyof I]: AnySchema },
> {
  name: string;
  version: string;
  description?: string;
  /** Schema of the plugin's options (from config or `--options`); its output is `ctx.options`. */
  options?: AnySchema;
  /** Inferred per method, so each handler sees its own input and output types. */
  methods: { [K in keyof I]: MethodDefinition<I[K], O[K]> };
  init?: (ctx: InitContext) => void | Promise<void>;
  shutdown?: () => void | Promise<void>;
  health?: () => HealthStatus | Promise<HealthStatus>;
}

/** A checked plugin definition, ready for the host. */
export interface Plugin {
  readonly isSwitchyardPlugin: true;
  readonly name: string;
  readonly version: string;
  readonly description: string;
  readonly options: AnySchema | undefined;
  readonly methods: Readonly<Record<string, MethodDefinition>>;
  readonly init: ((ctx: InitContext) => void | Promise<void>) | undefined;
  readonly shutdown: (() => void | Promise<void>) | undefined;
  readonly health: (() => HealthStatus | Promise<HealthStatus>) | undefined;
}

/**
 * Checks a plugin definition (name, version and method grammars) and returns it frozen.
 * @throws {TypeError} when a name, the version or a method is malformed.
 */
export function definePlugin<I extends Record<string, AnySchema>, O extends { [K in keyof I]: AnySchema }>(
  def: PluginDefinition<I, O>,
): Plugin {
  if (!PLUGIN_NAME.test(def.name)) {
    throw new TypeError(`Plugin name "${def.name}" must match ${PLUGIN_NAME.source}`);
  }
  if (!SEMVER.test(def.version)) {
    throw new TypeError(`Plugin "${def.name}": version "${def.version}" is not semver (e.g. 1.2.0)`);
  }
  const methods: Record<string, MethodDefinition> = {};
  for (const [name, method] of Object.entries(def.methods) as [string, MethodDefinition][]) {
    if (!METHOD_NAME.test(name)) {
      throw new TypeError(`Plugin "${def.name}": method name "${name}" must match ${METHOD_NAME.source}`);
    }
    if (typeof method.handler !== "function" || !method.input || !method.output) {
      throw new TypeError(`Plugin "${def.name}": method "${name}" needs input, output and handler`);
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
