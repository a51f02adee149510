import * as v from "valibot";

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

/** `nats.tls`: a private CA and a client certificate for NATS over TLS. */
export const NatsTlsSchema = v.strictObject({
  caFile: v.optional(File),
  certFile: v.optional(File),
  keyFile: v.optional(File),
});

/** Fields added to `nats`: nkey, creds file, TLS and a private inbox prefix. */
export const NATS_SECURITY_FIELDS = {
  /** A file holding an nkey seed (`SU…`). */
  nkeySeedFile: v.optional(File),
  /** A `.creds` file (user JWT and nkey seed, from `nsc`). */
  credsFile: v.optional(File),
  tls: v.optional(NatsTlsSchema),
  /** Reply subjects start with this; permissions can then pin each user to its own inboxes. @default "_INBOX" */
  inboxPrefix: v.optional(v.pipe(v.string(), v.regex(/^[A-Za-z0-9_$-]+(\.[A-Za-z0-9_$-]+)*$/, "must be NATS subject tokens"))),
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
