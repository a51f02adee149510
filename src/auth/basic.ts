import { Buffer } from "node:buffer";
import { sha256Hex } from "./api_key.ts";
import type { Clock } from "../deps.ts";
import { ErrorCode, SwitchyardError } from "../errors.ts";
import type { Authenticated } from "./principal.ts";
import { authenticated } from "./principal.ts";
import { hashPassword, parsePasswordHash, verifyPassword } from "./password.ts";
import type { PasswordHash } from "./password.ts";
import { TtlCache } from "./ttl_cache.ts";

/** scrypt runs this many at once; more concurrent attempts are refused (each takes 32 MiB). */
const MAX_CONCURRENT_VERIFICATIONS = 4;
const MAX_HEADER_LENGTH = 1024;

interface User {
  hash: PasswordHash;
  who: Authenticated;
}

/**
 * HTTP Basic against scrypt hashes. A verified `Authorization` value is remembered (by its
 * SHA-256, for `ttlMs`), so a client sending the same credentials costs one scrypt per TTL.
 * Unknown users cost a scrypt too, so timing does not tell which usernames exist.
 */
export class BasicUsers {
  readonly #users = new Map<string, User>();
  readonly #cache: TtlCache<Authenticated>;
  readonly #clock: Clock;
  readonly #ttlMs: number;
  #decoy: Promise<PasswordHash> | undefined;
  #running = 0;

  constructor(users: readonly { username: string; hash: string; roles: readonly string[] }[], options: { clock: Clock; ttlMs: number; cacheSize: number }) {
    for (const u of users) {
      this.#users.set(u.username, { hash: parsePasswordHash(u.hash), who: authenticated({ id: u.username, scheme: "basic", roles: u.roles }) });
    }
    this.#clock = options.clock;
    this.#ttlMs = options.ttlMs;
    this.#cache = new TtlCache(options.cacheSize, options.clock);
  }

  /** A remembered principal for this `Basic …` credential, without hashing anything. */
  cached(credentials: string): Authenticated | undefined {
    return this.#cache.size === 0 ? undefined : this.#cache.get(digest(credentials));
  }

  /**
   * The principal of `credentials` (the base64 after `Basic `), or undefined when they are wrong.
   * @throws {SwitchyardError} `overloaded` while too many verifications run.
   */
  async verify(credentials: string): Promise<Authenticated | undefined> {
    if (credentials.length > MAX_HEADER_LENGTH) return undefined;
    const decoded = Buffer.from(credentials, "base64").toString("utf8");
    const colon = decoded.indexOf(":");
    if (colon <= 0) return undefined;
    const user = this.#users.get(decoded.slice(0, colon));
    if (this.#running >= MAX_CONCURRENT_VERIFICATIONS) {
      throw new SwitchyardError(ErrorCode.Overloaded, "Too many password checks at once", { retryAfter: 1 });
    }
    this.#running++;
    try {
      const hash = user?.hash ?? await (this.#decoy ??= hashPassword("decoy").then(parsePasswordHash));
      const ok = await verifyPassword(decoded.slice(colon + 1), hash);
      if (!ok || user === undefined) return undefined;
      this.#cache.set(digest(credentials), user.who, this.#clock.now() + this.#ttlMs);
      return user.who;
    } finally {
      this.#running--;
    }
  }
}

function digest(text: string): string {
  return sha256Hex(text);
}
