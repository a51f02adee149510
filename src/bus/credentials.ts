import { readFileSync } from "node:fs";
import { credsAuthenticator, nkeyAuthenticator } from "@nats-io/nats-core";
import type { Authenticator, TlsOptions } from "@nats-io/nats-core";

/** How a connection proves who it is, and how it trusts the server. */
export interface NatsCredentials {
  user?: string;
  pass?: string;
  token?: string;
  /** A file holding an nkey seed (`SU…`). */
  nkeySeedFile?: string;
  /** A `.creds` file: a user JWT and its nkey seed. */
  credsFile?: string;
  tls?: { caFile?: string | undefined; certFile?: string | undefined; keyFile?: string | undefined };
  /** Reply subjects start with this instead of `_INBOX`. */
  inboxPrefix?: string;
}

/**
 * The standard variables, as the `nats` CLI reads them: `NATS_USER`, `NATS_PASSWORD`,
 * `NATS_TOKEN`, `NATS_NKEY` (seed file), `NATS_CREDS` (creds file), `NATS_CA`, `NATS_CERT`,
 * `NATS_KEY`, and `NATS_INBOX_PREFIX`.
 */
export const NATS_CREDENTIAL_ENV = [
  "NATS_USER",
  "NATS_PASSWORD",
  "NATS_TOKEN",
  "NATS_NKEY",
  "NATS_CREDS",
  "NATS_CA",
  "NATS_CERT",
  "NATS_KEY",
  "NATS_INBOX_PREFIX",
] as const;

/** Credentials from `env`; each set variable overrides the same field of `base`. */
export function natsCredentialsFromEnv(env: Readonly<Record<string, string | undefined>>, base: NatsCredentials = {}): NatsCredentials {
  const get = (name: string) => {
    const value = env[name]?.trim();
    return value === undefined || value === "" ? undefined : value;
  };
  const out: NatsCredentials = { ...base };
  const set = <K extends keyof NatsCredentials>(key: K, value: NatsCredentials[K] | undefined) => {
    if (value !== undefined) out[key] = value;
  };
  set("user", get("NATS_USER"));
  set("pass", get("NATS_PASSWORD"));
  set("token", get("NATS_TOKEN"));
  set("nkeySeedFile", get("NATS_NKEY"));
  set("credsFile", get("NATS_CREDS"));
  set("inboxPrefix", get("NATS_INBOX_PREFIX"));
  const tls = { ...base.tls };
  const ca = get("NATS_CA"), cert = get("NATS_CERT"), key = get("NATS_KEY");
  if (ca !== undefined) tls.caFile = ca;
  if (cert !== undefined) tls.certFile = cert;
  if (key !== undefined) tls.keyFile = key;
  if (Object.keys(tls).length > 0) out.tls = tls;
  return out;
}

/** The files a connection with `creds` reads (for a sandbox's read permission). */
export function credentialFiles(creds: NatsCredentials): string[] {
  return [creds.nkeySeedFile, creds.credsFile, creds.tls?.caFile, creds.tls?.certFile, creds.tls?.keyFile].filter((f): f is string => f !== undefined);
}

/**
 * The nats.js options for `creds`: user/password and token as given, an authenticator for an
 * nkey seed or creds file (read now, so a missing file fails at start), TLS files as they are.
 * @throws {Error} naming a credential file that cannot be read.
 */
export function natsAuthOptions(creds: NatsCredentials): { user?: string; pass?: string; token?: string; authenticator?: Authenticator; tls?: TlsOptions; inboxPrefix?: string } {
  const read = (what: string, path: string) => {
    try {
      return readFileSync(path);
    } catch (err) {
      throw new Error(`Cannot read the NATS ${what} ${path}: ${(err as Error).message}`, { cause: err });
    }
  };
  const out: ReturnType<typeof natsAuthOptions> = {};
  if (creds.user !== undefined) out.user = creds.user;
  if (creds.pass !== undefined) out.pass = creds.pass;
  if (creds.token !== undefined) out.token = creds.token;
  if (creds.credsFile !== undefined) out.authenticator = credsAuthenticator(new Uint8Array(read("creds file", creds.credsFile)));
  else if (creds.nkeySeedFile !== undefined) {
    out.authenticator = nkeyAuthenticator(new TextEncoder().encode(read("nkey seed file", creds.nkeySeedFile).toString("utf8").trim()));
  }
  if (creds.tls !== undefined) {
    const tls: TlsOptions = {};
    if (creds.tls.caFile !== undefined) tls.caFile = creds.tls.caFile;
    if (creds.tls.certFile !== undefined) tls.certFile = creds.tls.certFile;
    if (creds.tls.keyFile !== undefined) tls.keyFile = creds.tls.keyFile;
    out.tls = tls;
  }
  if (creds.inboxPrefix !== undefined) out.inboxPrefix = creds.inboxPrefix;
  return out;
}

const URL_USERINFO = /^([A-Za-z][A-Za-z0-9+.-]*:\/\/)?([^\s/?#@]+)@/;

/**
 * Server URLs without their userinfo, and the credentials it held: `nats://user:pass@host` gives
 * user and password, `nats://token@host` a token (as the Go client and the `nats` CLI read them;
 * nats.js ignores them). The first URL with credentials wins.
 */
export function credentialsInUrls(servers: readonly string[]): { servers: string[]; credentials: NatsCredentials } {
  let credentials: NatsCredentials | undefined;
  const stripped = servers.map((server) =>
    server.replace(URL_USERINFO, (_all, scheme: string | undefined, userinfo: string) => {
      if (credentials === undefined) {
        const colon = userinfo.indexOf(":");
        credentials = colon === -1
          ? { token: decode(userinfo) }
          : { user: decode(userinfo.slice(0, colon)), pass: decode(userinfo.slice(colon + 1)) };
      }
      return scheme ?? "";
    })
  );
  return { servers: stripped, credentials: credentials ?? {} };
}

function decode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}
