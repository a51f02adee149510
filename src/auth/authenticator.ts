import type { Clock, Logger } from "../deps.ts";
import { ErrorCode, SwitchyardError } from "../errors.ts";
import { ApiKeys } from "./api_key.ts";
import { BasicUsers } from "./basic.ts";
import { JwtVerifier, TokenError } from "./jwt.ts";
import { CertificatePrincipals } from "./mtls.ts";
import type { ClientCertificate } from "./mtls.ts";
import type { ResolvedAuthOptions } from "./options.ts";
import type { Authenticated } from "./principal.ts";

/** What the runtime adapter knows about the connection a request came on. */
export interface PeerInfo {
  /** The client certificate, when the connection is TLS with a verified client certificate. */
  readonly clientCertificate?: ClientCertificate | undefined;
}

/** Checks credentials; see {@linkcode createAuthenticator}. */
export interface Authenticator {
  /**
   * The caller's principal: synchronous when the credentials were seen recently (or are an API
   * key), a promise when they need verifying.
   * @throws {SwitchyardError} 401 `unauthorized` with `WWW-Authenticate`, or 503 `overloaded`.
   */
  authenticate(req: Request, peer: PeerInfo | undefined): Authenticated | Promise<Authenticated>;
  /** The `WWW-Authenticate` value of a 401. */
  readonly challenge: string;
}

/**
 * Builds the authenticator for `options`. The schemes are tried by what the request carries:
 * the API-key header, then `Authorization: Bearer` / `Basic`, then the client certificate.
 * Credentials that are present but wrong get 401 at once, without falling back to another scheme.
 * @throws {Error} when a key or file of the config cannot be read.
 */
export async function createAuthenticator(options: ResolvedAuthOptions, deps: { clock: Clock; logger: Logger }): Promise<Authenticator> {
  const cache = { clock: deps.clock, ttlMs: options.cacheTtlMs, cacheSize: options.cacheSize };
  const apiKeys = options.apiKeys && new ApiKeys(options.apiKeys.keys);
  const apiKeyHeader = options.apiKeys?.header.toLowerCase() ?? "";
  const jwt = options.jwt && await JwtVerifier.create(options.jwt, cache);
  const basic = options.basic && new BasicUsers(options.basic.users, cache);
  const certs = options.mtls && new CertificatePrincipals(options.mtls);
  const realm = options.realm;
  const challenges: string[] = [];
  if (jwt) challenges.push(`Bearer realm="${realm}"`);
  if (basic) challenges.push(`Basic realm="${realm}", charset="UTF-8"`);
  if (apiKeys) challenges.push(`ApiKey realm="${realm}", header="${apiKeyHeader}"`);
  if (certs) challenges.push(`Mutual realm="${realm}"`);
  const challenge = challenges.join(", ");
  const refuse = (message: string, header = challenge) =>
    new SwitchyardError(ErrorCode.Unauthorized, message, { headers: { "www-authenticate": header } });
  const bearerRefusal = (why: string) =>
    refuse(`The bearer token was refused: ${why}`, `Bearer realm="${realm}", error="invalid_token", error_description="${why.replace(/["\\]/g, "'")}"`);

  return {
    challenge,
    authenticate(req, peer) {
      const headers = req.headers;
      if (apiKeys !== undefined) {
        const key = headers.get(apiKeyHeader);
        if (key !== null) {
          const who = apiKeys.verify(key);
          if (who === undefined) throw refuse(`The ${apiKeyHeader} header holds no valid API key`);
          return who;
        }
      }
      const authorization = headers.get("authorization");
      if (authorization !== null) {
        const space = authorization.indexOf(" ");
        const scheme = space === -1 ? authorization.toLowerCase() : authorization.slice(0, space).toLowerCase();
        const credentials = space === -1 ? "" : authorization.slice(space + 1).trim();
        if (scheme === "bearer" && jwt !== undefined) {
          const who = jwt.cached(credentials);
          if (who !== undefined) return who;
          return jwt.verify(credentials).catch((err: unknown) => {
            throw bearerRefusal(err instanceof TokenError ? err.message : "cannot be verified");
          });
        }
        if (scheme === "basic" && basic !== undefined) {
          const who = basic.cached(credentials);
          if (who !== undefined) return who;
          return basic.verify(credentials).then((found) => {
            if (found === undefined) throw refuse("Wrong username or password");
            return found;
          });
        }
        throw refuse(`The "${scheme.slice(0, 20)}" authorization scheme is not accepted here`);
      }
      const cert = peer?.clientCertificate;
      if (certs !== undefined && cert !== undefined) {
        const who = certs.of(cert);
        if (who !== undefined) return who;
        throw refuse("The client certificate has no usable subject");
      }
      throw refuse("Authentication required");
    },
  };
}
