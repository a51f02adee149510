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

/** What a handler gets besides its input. */
export interface PluginContext {
  /** This instance's id, unique on the bus. */
  readonly instanceId: string;
  /** The plugin's semver version. */
  readonly version: string;
  /** The request id, from the router's `x-request-id`. */
  readonly requestId: string;
  /** Aborts at the caller's deadline and when a drain runs out of time. */
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
  /** The plugin's options, validated by its `options` schema (`{}` without one). */
  readonly options: Readonly<Record<string, unknown>>;
  /**
   * Calls `plugin.method` over the bus with this request's deadline, request id and principal,
   * under the same breaker and retry rules as the router (no retries when this request is itself
   * a nested call). Resolves with the output. `options.version` is a semver range for the callee, as
   * `x-plugin-version` is for an HTTP call; without it the config's rules for the callee apply.
   * @throws {SwitchyardError} with the callee's code and status, or `timeout`, `circuit_open`,
   * `plugin_unavailable`, `no_matching_version`, `validation_failed`.
   */
  call<T = unknown>(plugin: string, method: string, input?: unknown, options?: CallOptions): Promise<T>;
}

/** Options of one `ctx.call`. */
export interface CallOptions {
  /** A semver range the callee's version must satisfy. */
  version?: string;
}

/** What `init` gets. */
export interface InitContext {
  readonly instanceId: string;
  readonly version: string;
  readonly logger: Logger;
  readonly options: Readonly<Record<string, unknown>>;
}

/** The answer of a plugin's `health()`. */
export interface HealthStatus {
  status: "ok" | "degraded" | "unhealthy";
  detail?: string;
}
