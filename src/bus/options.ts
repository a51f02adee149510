/**
 * The `nats` options: servers and credentials (user and password, token, nkey seed, creds file,
 * TLS) and the inbox prefix. The config composes this schema.
 * @module
 */
import * as v from "valibot";

const File = v.pipe(v.string(), v.minLength(1));

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

/** `nats`: where to connect and as whom (docs/security.md). */
export const NatsOptionsSchema = v.strictObject({
  servers: v.optional(v.pipe(v.array(v.pipe(v.string(), v.minLength(1))), v.minLength(1))),
  user: v.optional(v.string()),
  pass: v.optional(v.string()),
  token: v.optional(v.string()),
  ...NATS_SECURITY_FIELDS,
});
export type ResolvedNatsOptions = v.InferOutput<typeof NatsOptionsSchema>;
