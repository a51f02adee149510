import * as v from "valibot";
import { DEFAULT_STREAM_IDLE_MS, DEFAULT_STREAM_TIMEOUT_MS, DEFAULT_TIMEOUT_MS } from "../resilience/mod.ts";
import { ROUTER_DASHBOARD_FIELDS } from "./dashboard_options.ts";
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


/** How long a client may take to send a request's headers, from its first byte. */
export const DEFAULT_HEADER_TIMEOUT_MS = 10_000;
/** How long a keep-alive connection may sit idle between requests. */
export const DEFAULT_IDLE_TIMEOUT_MS = 30_000;
/** How long a client may take to send a whole request, headers and body. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;

const Millis = v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(3_600_000));
const File = v.pipe(v.string(), v.minLength(1));

/** `router.tls`: serve HTTPS; with a client CA, require (or accept) client certificates. */
export const ServerTlsSchema = v.strictObject({
  certFile: File,
  keyFile: File,
  /** PEM bundle of the CAs that sign client certificates: turns on mTLS. */
  clientCaFile: v.optional(File),
  /** Refuse the TLS handshake without a valid client certificate. @default true with clientCaFile */
  requireClientCert: v.optional(v.boolean()),
});

/** Fields added to `router`: connection limits and TLS. */
export const ROUTER_SECURITY_FIELDS = {
  /** @default 10000 */
  headerTimeoutMs: v.optional(Millis, DEFAULT_HEADER_TIMEOUT_MS),
  /** @default 30000 */
  idleTimeoutMs: v.optional(Millis, DEFAULT_IDLE_TIMEOUT_MS),
  /** @default 30000 */
  requestTimeoutMs: v.optional(Millis, DEFAULT_REQUEST_TIMEOUT_MS),
  /** Open client connections at most; more are refused. @default no cap (as node:http) */
  maxConnections: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(1_000_000))),
  /**
   * The connection guard in front of Deno's and Bun's servers (docs/security.md): `auto` runs it
   * where the runtime cannot enforce the settings itself (Deno: always, as Deno.serve has no header
   * timeout; Bun: with TLS, a connection cap, or a header timeout under Bun's own ~10 s); `off`
   * when a proxy in front enforces them (it saves a loopback hop per request). Node needs none.
   * @default "auto"
   */
  connectionGuard: v.optional(v.picklist(["auto", "on", "off"]), "auto"),
  tls: v.optional(ServerTlsSchema),
};

/** Roles that may read `/metrics` when `auth` is on (besides `auth.adminRoles`). */
export const DEFAULT_METRICS_ROLES = ["metrics"] as const;

/** Fields added to `metrics`: who may scrape `/metrics` (docs/security.md#metrics). */
export const METRICS_SECURITY_FIELDS = {
  /**
   * A bearer token for scrapers: `Authorization: Bearer <token>` reads `/metrics`, with or without
   * `auth`. Without `auth` and without a token, `/metrics` is open (the router warns at start).
   */
  token: v.optional(v.pipe(v.string(), v.minLength(32, "must be at least 32 characters"), v.regex(/^[\x21-\x7e]+$/, "must be printable ASCII without spaces"))),
  /** With `auth` on: principals with one of these roles (or an admin role) may read `/metrics`. @default ["metrics"] */
  roles: v.optional(v.pipe(v.array(v.pipe(v.string(), v.minLength(1), v.maxLength(100))), v.minLength(1)), [...DEFAULT_METRICS_ROLES]),
};

export const DEFAULT_PORT = 8080;
export const DEFAULT_HOST = "0.0.0.0";
/**
 * Just under 1 MiB, so that by default a body fits one NATS message (`max_payload` is 1 MiB). A
 * larger limit (up to 64 MiB) is fine: bodies and replies over `max_payload` go in chunks.
 */
export const DEFAULT_BODY_LIMIT_BYTES = 1024 * 1024 - 16 * 1024;
export const DEFAULT_DRAIN_TIMEOUT_MS = 10_000;

/** `router`: listen address, body limit, deadlines, connection limits and TLS. */
export const RouterOptionsSchema = v.strictObject({
  host: v.optional(v.string(), DEFAULT_HOST),
  port: v.optional(v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(65535)), DEFAULT_PORT),
  bodyLimitBytes: v.optional(v.pipe(v.number(), v.integer(), v.minValue(2), v.maxValue(64 * 1024 * 1024)), DEFAULT_BODY_LIMIT_BYTES),
  /** The default deadline of a request, all attempts included. */
  timeoutMs: v.optional(Millis, DEFAULT_TIMEOUT_MS),
  /** A stream with no item for this long (or whose client reads nothing for this long) ends with `timeout`. */
  streamIdleMs: v.optional(Millis, DEFAULT_STREAM_IDLE_MS),
  /** The default deadline of a whole stream. */
  streamTimeoutMs: v.optional(Millis, DEFAULT_STREAM_TIMEOUT_MS),
  drainTimeoutMs: v.optional(Millis, DEFAULT_DRAIN_TIMEOUT_MS),
  ...ROUTER_SECURITY_FIELDS,
  ...ROUTER_DASHBOARD_FIELDS,
});

/** `metrics`: Prometheus exposition at `path` (docs/telemetry.md) and who may read it. */
export const MetricsOptionsSchema = v.strictObject({
  enabled: v.optional(v.boolean(), true),
  path: v.optional(v.pipe(v.string(), v.regex(/^\/[A-Za-z0-9._\/-]{0,100}$/), v.check((p) => !p.startsWith("/v1/"), "must not be under /v1/")), "/metrics"),
  /** Process, heap, GC and event-loop metrics. */
  processMetrics: v.optional(v.boolean(), true),
  ...METRICS_SECURITY_FIELDS,
});
