import type { ResolvedAdminOptions } from "./admin_options.ts";
import type { ResolvedAuthOptions } from "../auth/mod.ts";

/** The router's own request settings (`router.*`), read per request so a reload applies. */
export interface RouterSettings {
  readonly bodyLimitBytes: number;
  /** Reading a request's body ends by then. */
  readonly requestTimeoutMs: number;
  readonly drainTimeoutMs: number;
  /** Serve `GET /dashboard`. @default true */
  readonly dashboard?: boolean | undefined;
}

/** `metrics.*`: what `GET /metrics` serves. */
export interface MetricsSettings {
  readonly enabled: boolean;
  readonly path: string;
  readonly processMetrics: boolean;
  /** A bearer token that may read `/metrics`. */
  readonly token?: string | undefined;
  /** With auth on: roles that may read `/metrics`. */
  readonly roles: readonly string[];
}

/**
 * What the router app reads of the config. The config's resolved type satisfies it as is; the
 * router names only what it uses, and a reload hands it a new object, never a changed one.
 */
export interface RouterAppSettings {
  readonly router: RouterSettings;
  readonly admin: ResolvedAdminOptions;
  readonly metrics: MetricsSettings;
  readonly log: { readonly level: string };
  /** Present when authentication is configured. */
  readonly auth?: ResolvedAuthOptions | undefined;
}
