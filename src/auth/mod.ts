/**
 * Authentication (API keys, bearer JWT, Basic, client certificates) and authorization (rules
 * over principals, roles and claims → plugin and method globs) for the router.
 *
 * @example
 * ```ts
 * import { RouterAuth, hashApiKey } from "./mod.ts";
 * const auth = await RouterAuth.create(v.parse(AuthSchema, {
 *   apiKeys: { keys: [{ id: "ci", hash: hashApiKey("sy_secret"), roles: ["deploy"] }] },
 * }), { clock: systemClock, logger: noopLogger });
 * ```
 * @module
 */
export { ApiKeys, generateApiKey, hashApiKey } from "./api_key.ts";
export { createAuthenticator } from "./authenticator.ts";
export { Authorizer } from "./authorizer.ts";
export { BasicUsers } from "./basic.ts";
export { globsMatcher, globToRegExp } from "./glob.ts";
export { JwtVerifier, TokenError } from "./jwt.ts";
export { CertificatePrincipals, subjectString } from "./mtls.ts";
export {
  AuthSchema,
  DEFAULT_ADMIN_ROLES,
  DEFAULT_API_KEY_HEADER,
  DEFAULT_AUTH_CACHE_SIZE,
  DEFAULT_AUTH_CACHE_TTL_MS,
  DEFAULT_CLOCK_SKEW_SEC,
  JWT_ALGORITHMS,
} from "./options.ts";
export { DEFAULT_SCRYPT_LN, hashPassword, parsePasswordHash, verifyPassword } from "./password.ts";
export { authenticated } from "./principal.ts";
export { RouterAuth } from "./router_auth.ts";
export { TtlCache } from "./ttl_cache.ts";
export type { Authenticator, PeerInfo } from "./authenticator.ts";
export type { ClientCertificate } from "./mtls.ts";
export type { AuthOptions, JwtAlgorithm, ResolvedAuthOptions, ResolvedRule } from "./options.ts";
export type { Authenticated } from "./principal.ts";
