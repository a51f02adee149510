import { Buffer } from "node:buffer";
import { randomBytes } from "node:crypto";
import { sha256Hex } from "./api_key.ts";
import type { Clock } from "../deps.ts";
import { FairQueue } from "./fair_queue.ts";
import type { Authenticated } from "./principal.ts";
import { authenticated } from "./principal.ts";
import { DEFAULT_SCRYPT_LN, parsePasswordHash, verifyPassword } from "./password.ts";
import type { PasswordHash } from "./password.ts";
import { TtlCache } from "./ttl_cache.ts";

/** scrypt runs this many at once (each takes 32 MiB at the default cost). */
const MAX_CONCURRENT_VERIFICATIONS = 4;
/** Checks waiting for a slot, in all and per username; more are refused with 503. */
const MAX_WAITING = 256;
const MAX_WAITING_PER_USERNAME = 16;
/** A check that waited this long for a slot is refused with 503. */
const MAX_WAIT_MS = 10_000;
const MAX_HEADER_LENGTH = 1024;

interface User {
  hash: PasswordHash;
  who: Authenticated;
}

/**
 * HTTP Basic against scrypt hashes. A verified `Authorization` value is remembered (by its
 * SHA-256, for `ttlMs`), so a client sending the same credentials costs one scrypt per TTL; a
 * refused one is remembered as refused for as long, so repeating a wrong password costs nothing.
 * Unknown users cost a scrypt too, so timing does not tell which usernames exist.
 *
 * scrypt is slow and memory-hungry on purpose, so checks share a few slots, served round-robin by
 * the username claimed (existing or not, alike): a flood of wrong passwords for one username takes
 * that username's turns, and a first login of anyone else waits one turn of the usernames waiting,
 * not behind the flood. Identical credentials checked at once share one scrypt.
 */
export class BasicUsers {
  readonly #users = new Map<string, User>();
  readonly #cache: TtlCache<Authenticated>;
  readonly #refused: TtlCache<true>;
  readonly #checking = new Map<string, Promise<Authenticated | undefined>>();
  readonly #queue: FairQueue;
  readonly #clock: Clock;
  readonly #ttlMs: number;
  readonly #decoy: PasswordHash;

  constructor(users: readonly { username: string; hash: string; roles: readonly string[] }[], options: { clock: Clock; ttlMs: number; cacheSize: number }) {
    for (const u of users) {
      this.#users.set(u.username, { hash: parsePasswordHash(u.hash), who: authenticated({ id: u.username, scheme: "basic", roles: u.roles }) });
    }
    this.#decoy = decoyHash([...this.#users.values()].map((u) => u.hash));
    this.#clock = options.clock;
    this.#ttlMs = options.ttlMs;
    this.#cache = new TtlCache(options.cacheSize, options.clock);
    this.#refused = new TtlCache(options.cacheSize, options.clock);
    this.#queue = new FairQueue({
      concurrency: MAX_CONCURRENT_VERIFICATIONS,
      maxWaiting: MAX_WAITING,
      maxWaitingPerKey: MAX_WAITING_PER_USERNAME,
      maxWaitMs: MAX_WAIT_MS,
      clock: options.clock,
    });
  }

  /** A remembered principal for this `Basic …` credential, without hashing anything. */
  cached(credentials: string): Authenticated | undefined {
    return this.#cache.size === 0 ? undefined : this.#cache.get(digest(credentials));
  }

  /**
   * The principal of `credentials` (the base64 after `Basic `), or undefined when they are wrong.
   * @throws {SwitchyardError} `overloaded` when too many checks wait for a slot, or one waited too long.
   */
  verify(credentials: string): Promise<Authenticated | undefined> {
    if (credentials.length > MAX_HEADER_LENGTH) return Promise.resolve(undefined);
    const id = digest(credentials);
    if (this.#refused.size > 0 && this.#refused.get(id) === true) return Promise.resolve(undefined);
    const running = this.#checking.get(id);
    if (running !== undefined) return running;
    const decoded = Buffer.from(credentials, "base64").toString("utf8");
    const colon = decoded.indexOf(":");
    if (colon <= 0) return Promise.resolve(undefined);
    const username = decoded.slice(0, colon);
    const check = this.#queue.run(username, () => this.#check(id, username, decoded.slice(colon + 1)))
      .finally(() => this.#checking.delete(id));
    this.#checking.set(id, check);
    return check;
  }

  async #check(id: string, username: string, password: string): Promise<Authenticated | undefined> {
    const user = this.#users.get(username);
    const ok = await verifyPassword(password, user?.hash ?? this.#decoy);
    const until = this.#clock.now() + this.#ttlMs;
    if (!ok || user === undefined) {
      this.#refused.set(id, true, until);
      return undefined;
    }
    this.#cache.set(id, user.who, until);
    return user.who;
  }
}

/**
 * What an unknown username is checked against: the cost (ln, r, p) most users have, a random salt
 * and a random hash no password matches. A decoy of another cost than the real hashes would make
 * unknown usernames measurably faster or slower than known ones.
 */
function decoyHash(hashes: readonly PasswordHash[]): PasswordHash {
  const counts = new Map<string, { n: number; of: PasswordHash }>();
  for (const h of hashes) {
    const key = `${h.ln},${h.r},${h.p},${h.hash.length}`;
    const seen = counts.get(key);
    if (seen === undefined) counts.set(key, { n: 1, of: h });
    else seen.n++;
  }
  let common: PasswordHash | undefined;
  let most = 0;
  for (const { n, of } of counts.values()) if (n > most) [most, common] = [n, of];
  const { ln, r, p, hash } = common ?? { ln: DEFAULT_SCRYPT_LN, r: 8, p: 1, hash: { length: 32 } };
  return { ln, r, p, salt: randomBytes(16), hash: randomBytes(hash.length) };
}

function digest(text: string): string {
  return sha256Hex(text);
}
