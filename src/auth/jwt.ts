import { readFileSync } from "node:fs";
import { createLocalJWKSet, errors as joseErrors, importSPKI, jwtVerify } from "jose";
import type { JSONWebKeySet, JWTPayload, JWTVerifyGetKey, JWTVerifyOptions } from "jose";
import type { Clock } from "../deps.ts";
import type { Authenticated } from "./principal.ts";
import { authenticated } from "./principal.ts";
import type { JwtAlgorithm, ResolvedJwtOptions } from "./options.ts";
import { TtlCache } from "./ttl_cache.ts";

type VerifyKey = CryptoKey | Uint8Array;
type KeyResolver = JWTVerifyGetKey;

/** Why a token was refused: one short phrase, safe to show the client. */
export class TokenError extends Error {
  override name = "TokenError";
}

/** Tokens longer than this are refused before parsing. */
const MAX_TOKEN_LENGTH = 8192;
const encoder = new TextEncoder();

/**
 * Verifies bearer JWTs with `jose`: only the listed algorithms, keys chosen by the token's `alg`
 * (and `kid`), so a token can't pick a key of another kind (an HS256 token "signed" with an RSA
 * public key finds only HS256 secrets). `exp` is required; `exp`, `nbf`, `iss` and `aud` are
 * checked with the configured clock skew. Verified tokens are remembered until `exp` or the
 * cache TTL, whichever comes first, in a bounded cache.
 */
export class JwtVerifier {
  readonly #options: JWTVerifyOptions;
  readonly #resolve: KeyResolver;
  readonly #config: ResolvedJwtOptions;
  readonly #cache: TtlCache<Authenticated>;
  readonly #clock: Clock;
  readonly #ttlMs: number;

  private constructor(config: ResolvedJwtOptions, resolve: KeyResolver, options: { clock: Clock; ttlMs: number; cacheSize: number }) {
    this.#config = config;
    this.#resolve = resolve;
    this.#clock = options.clock;
    this.#ttlMs = options.ttlMs;
    this.#cache = new TtlCache(options.cacheSize, options.clock);
    this.#options = {
      algorithms: [...config.algorithms],
      clockTolerance: config.clockSkewSec,
      requiredClaims: ["exp"],
      ...(config.issuer === undefined ? {} : { issuer: config.issuer }),
      ...(config.audience === undefined ? {} : { audience: config.audience }),
    };
  }

  /**
   * Imports the configured keys and JWKS file.
   * @throws {Error} naming the key that cannot be read or imported.
   */
  static async create(config: ResolvedJwtOptions, options: { clock: Clock; ttlMs: number; cacheSize: number; baseDir?: string }): Promise<JwtVerifier> {
    const keys: { alg: JwtAlgorithm; kid: string | undefined; key: VerifyKey }[] = [];
    for (const [i, k] of config.keys.entries()) {
      try {
        const key = k.secret !== undefined
          ? encoder.encode(k.secret)
          : await importSPKI(k.publicKey ?? readFileSync(k.publicKeyFile!, "utf8"), k.alg);
        keys.push({ alg: k.alg, kid: k.kid, key });
      } catch (err) {
        throw new Error(`auth.jwt.keys.${i}: cannot import the ${k.alg} key: ${(err as Error).message}`, { cause: err });
      }
    }
    let jwks: ReturnType<typeof createLocalJWKSet> | undefined;
    if (config.jwksFile !== undefined) {
      try {
        jwks = createLocalJWKSet(JSON.parse(readFileSync(config.jwksFile, "utf8")) as JSONWebKeySet);
      } catch (err) {
        throw new Error(`auth.jwt.jwksFile: cannot read ${config.jwksFile}: ${(err as Error).message}`, { cause: err });
      }
    }
    const resolve: KeyResolver = (header, token) => {
      const candidates = keys.filter((k) => k.alg === header.alg && (header.kid === undefined || k.kid === undefined || k.kid === header.kid));
      const exact = candidates.find((k) => k.kid !== undefined && k.kid === header.kid) ?? candidates[0];
      if (exact !== undefined) return exact.key;
      if (jwks !== undefined) return jwks(header, token);
      throw new TokenError("no key for its alg and kid");
    };
    return new JwtVerifier(config, resolve, options);
  }

  /** A remembered principal for `token`, without verifying anything. */
  cached(token: string): Authenticated | undefined {
    return this.#cache.get(token);
  }

  /**
   * Verifies `token` and returns its principal.
   * @throws {TokenError} saying why it was refused.
   */
  async verify(token: string): Promise<Authenticated> {
    if (token.length > MAX_TOKEN_LENGTH) throw new TokenError("too long");
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, this.#resolve, { ...this.#options, currentDate: new Date(this.#clock.now()) }));
    } catch (err) {
      throw new TokenError(reason(err));
    }
    const id = payload[this.#config.principalClaim];
    if (typeof id !== "string" || id === "") throw new TokenError(`no "${this.#config.principalClaim}" claim`);
    const who = authenticated({ id, scheme: "jwt", roles: rolesOf(payload[this.#config.rolesClaim]), claims: payload });
    const until = Math.min(this.#clock.now() + this.#ttlMs, ((payload.exp ?? 0) + this.#config.clockSkewSec) * 1000);
    this.#cache.set(token, who, until);
    return who;
  }
}

function rolesOf(value: unknown): string[] {
  if (typeof value === "string") return value.split(" ").filter((r) => r !== "");
  if (Array.isArray(value)) return value.filter((r): r is string => typeof r === "string");
  return [];
}

function reason(err: unknown): string {
  if (err instanceof TokenError) return err.message;
  if (err instanceof joseErrors.JWTExpired) return "expired";
  if (err instanceof joseErrors.JWTClaimValidationFailed) return `bad "${err.claim}" claim (${err.reason})`;
  if (err instanceof joseErrors.JOSEAlgNotAllowed) return "algorithm not allowed";
  if (err instanceof joseErrors.JWSSignatureVerificationFailed) return "bad signature";
  if (err instanceof joseErrors.JWKSNoMatchingKey) return "no key for its alg and kid";
  if (err instanceof joseErrors.JWSInvalid || err instanceof joseErrors.JWTInvalid) return "malformed";
  return "cannot be verified";
}
