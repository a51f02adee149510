import type { Span } from "@opentelemetry/api";
import type { Logger } from "../deps.ts";

/** Who called, as the router authenticated them; `anonymous` until auth is configured. */
export interface Principal {
  id: string;
  /** How the router authenticated it. */
  scheme?: "api_key" | "jwt" | "basic" | "mtls";
  roles?: readonly string[];
  claims?: Readonly<Record<string, unknown>>;
}

/** A plugin's options when it declares no schema for them. */
export type AnyOptions = Readonly<Record<string, unknown>>;

/** The type-only signature of each method of a plugin: what a typed `ctx.call` reads. */
export interface MethodSignatures {
  readonly [method: string]: { readonly input: unknown; readonly output: unknown };
}

/** Anything with a plugin's name and, as types, its methods' signatures (`typeof` a plugin module's default export). */
export interface CallablePlugin {
  readonly name: string;
  /** Type-only: never set at run time. */
  readonly "~methods"?: MethodSignatures;
}

/** The method names of `P`. */
export type MethodOf<P extends CallablePlugin> = keyof NonNullable<P["~methods"]> & string;
/** What `P`'s method `M` takes (before its schema's transforms). */
export type CallInput<P extends CallablePlugin, M extends MethodOf<P>> = NonNullable<P["~methods"]>[M]["input"];
/** What `P`'s method `M` answers (after its output schema). */
export type CallOutput<P extends CallablePlugin, M extends MethodOf<P>> = NonNullable<P["~methods"]>[M]["output"];

/** What a handler gets besides its input; `Options` is what the plugin's `options` schema gives. */
export interface PluginContext<Options = AnyOptions> {
  /** This instance's id, unique on the bus. */
  readonly instanceId: string;
  /** The plugin's semver version. */
  readonly version: string;
  /** The request id, from the router's `x-request-id`. */
  readonly requestId: string;
  /**
   * Aborts at the caller's deadline and when a drain runs out of time; for a streaming method also
   * when the caller goes away (the client disconnected, or stopped pulling for the idle timeout).
   */
  readonly signal: AbortSignal;
  /** Milliseconds since the epoch when the caller stops waiting. */
  readonly deadline: number;
  /** Who called. */
  readonly principal: Principal;
  /** Logs with the request id, trace id (when traced), plugin and instance attached. */
  readonly logger: Logger;
  /**
   * This request's server span: add attributes or events to it (`ctx.span.setAttribute("cart.size", 3)`).
   * A span of your own started with `@opentelemetry/api` while the handler runs sits under it. When
   * tracing is off it is a no-op span.
   */
  readonly span: Span;
  /** The plugin's options, validated by its `options` schema and typed by it (`{}` without one). */
  readonly options: Options;
  /**
   * Calls `plugin.method` over the bus with this request's deadline, request id and principal,
   * under the same breaker and retry rules as the router (no retries when this request is itself
   * a nested call). Resolves with the output. `options.version` is a semver range for the callee, as
   * `x-plugin-version` is for an HTTP call; without it the config's rules for the callee apply.
   * @throws {SwitchyardError} with the callee's code and status, or `timeout`, `circuit_open`,
   * `plugin_unavailable`, `no_matching_version`, `validation_failed`.
   */
  call<P extends CallablePlugin, M extends MethodOf<P> = MethodOf<P>>(
    plugin: P["name"],
    method: M,
    input: CallInput<P, M>,
    options?: CallOptions,
  ): Promise<CallOutput<P, M>>;
  /** An untyped call: the input is checked at run time against the callee's discovered schema. */
  call<T = unknown>(plugin: string, method: string, input?: unknown, options?: CallOptions): Promise<T>;
  /**
   * Calls a streaming method of another plugin and gives its items as they come, with the same
   * deadline, routing and policies as `call` (retries only before the first item) and the same
   * flow control as the router: the callee produces no faster than the loop consumes. Leaving the
   * loop early (`break`, a throw) stops the callee (its `ctx.signal` aborts). A unary method gives
   * its one output as the only item.
   * @throws {SwitchyardError} as `call`, from the loop: before the first item, or the callee's
   * error after some items.
   */
  stream<P extends CallablePlugin, M extends MethodOf<P> = MethodOf<P>>(
    plugin: P["name"],
    method: M,
    input: CallInput<P, M>,
    options?: CallOptions,
  ): AsyncIterable<CallOutput<P, M>>;
  /** An untyped stream: the input is checked at run time against the callee's discovered schema. */
  stream<T = unknown>(plugin: string, method: string, input?: unknown, options?: CallOptions): AsyncIterable<T>;
}

/** Options of one `ctx.call`. */
export interface CallOptions {
  /** A semver range the callee's version must satisfy. */
  version?: string;
}

/** What `init` gets. */
export interface InitContext<Options = AnyOptions> {
  readonly instanceId: string;
  readonly version: string;
  readonly logger: Logger;
  readonly options: Options;
}

/** The answer of a plugin's `health()`. */
export interface HealthStatus {
  status: "ok" | "degraded" | "unhealthy";
  detail?: string;
}
