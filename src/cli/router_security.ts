import { readFileSync } from "node:fs";
import { natsCredentialsFromEnv } from "../bus/mod.ts";
import type { NatsCredentials } from "../bus/mod.ts";
import { RouterAuth } from "../auth/mod.ts";
import { ConfigError } from "../config/mod.ts";
import type { ResolvedConfig } from "../config/mod.ts";
import type { Clock, Logger } from "../deps.ts";
import type { ServerLimits, ServerTls } from "../runtime/mod.ts";

/** What the router's security config turns into at start-up. */
export interface RouterSecurity {
  auth: RouterAuth | undefined;
  limits: ServerLimits;
  tls: ServerTls | undefined;
  /** NATS credentials: the config's, overridden by the `NATS_*` variables. */
  nats: NatsCredentials;
}

/**
 * Reads keys, certificates and credential files named by the config, so a bad path fails at
 * start-up with the config key that named it.
 * @throws {ConfigError} for unreadable files or an mTLS setup without a client CA.
 */
export async function routerSecurity(
  config: ResolvedConfig,
  env: Readonly<Record<string, string | undefined>>,
  deps: { clock: Clock; logger: Logger },
): Promise<RouterSecurity> {
  const { router } = config;
  const read = (key: string, path: string) => {
    try {
      return readFileSync(path, "utf8");
    } catch (err) {
      throw new ConfigError("config", [`${key}: cannot read ${path} (${(err as Error).message})`]);
    }
  };
  const tls: ServerTls | undefined = router.tls && {
    cert: read("router.tls.certFile", router.tls.certFile),
    key: read("router.tls.keyFile", router.tls.keyFile),
    ...(router.tls.clientCaFile === undefined ? {} : { clientCa: read("router.tls.clientCaFile", router.tls.clientCaFile) }),
    requireClientCert: router.tls.requireClientCert ?? router.tls.clientCaFile !== undefined,
  };
  if (config.auth?.mtls !== undefined && tls?.clientCa === undefined) {
    throw new ConfigError("config", ["auth.mtls: needs router.tls with a clientCaFile (the CA of the client certificates)"]);
  }
  let auth: RouterAuth | undefined;
  if (config.auth !== undefined) {
    try {
      auth = await RouterAuth.create(config.auth, deps);
    } catch (err) {
      throw new ConfigError("config", [(err as Error).message]);
    }
  } else {
    const open = ["every plugin", ...(config.admin.enabled ? ["/admin"] : []), ...(config.metrics.enabled && config.metrics.token === undefined ? ["/metrics"] : []), ...(config.router.dashboard ? ["/dashboard"] : [])];
    deps.logger.warn(`auth is off: every caller may use ${open.join(", ")} (see docs/security.md)`);
  }
  return {
    auth,
    tls,
    limits: {
      headerTimeoutMs: router.headerTimeoutMs,
      idleTimeoutMs: router.idleTimeoutMs,
      requestTimeoutMs: router.requestTimeoutMs,
      ...(router.maxConnections === undefined ? {} : { maxConnections: router.maxConnections }),
    },
    nats: natsCredentials(config, env),
  };
}

/** The NATS credentials of `config.nats`, overridden by the `NATS_*` variables (router and supervisors). */
export function natsCredentials(config: ResolvedConfig, env: Readonly<Record<string, string | undefined>>): NatsCredentials {
  const { user, pass, token, nkeySeedFile, credsFile, tls: natsTls, inboxPrefix } = config.nats;
  const base: NatsCredentials = {
    ...(user === undefined ? {} : { user }),
    ...(pass === undefined ? {} : { pass }),
    ...(token === undefined ? {} : { token }),
    ...(nkeySeedFile === undefined ? {} : { nkeySeedFile }),
    ...(credsFile === undefined ? {} : { credsFile }),
    ...(natsTls === undefined ? {} : { tls: { ...natsTls } }),
    ...(inboxPrefix === undefined ? {} : { inboxPrefix }),
  };
  return natsCredentialsFromEnv(env, base);
}
