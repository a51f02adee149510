import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { Buffer } from "node:buffer";
import type { Authenticated } from "./principal.ts";
import { authenticated } from "./principal.ts";

/** `sha256:<hex>` of an API key, as stored in the config. */
export function hashApiKey(key: string): string {
  return `sha256:${createHash("sha256").update(key, "utf8").digest("hex")}`;
}

/** A new random API key: `sy_` and 32 random bytes in base64url (256 bits). */
export function generateApiKey(): string {
  return `sy_${randomBytes(32).toString("base64url")}`;
}

/** Keys longer than this are refused unhashed: no one hashes megabytes per request. */
const MAX_KEY_LENGTH = 512;

/**
 * API keys looked up by their SHA-256. Keys are long random strings, so a fast hash is as safe
 * as a slow one (there is no dictionary to try) and costs one hash per request. The lookup
 * compares digests, never the key; the final equality check runs in constant time anyway.
 */
export class ApiKeys {
  readonly #byHash = new Map<string, { digest: Buffer; who: Authenticated }>();

  constructor(keys: readonly { id: string; hash: string; roles: readonly string[] }[]) {
    for (const key of keys) {
      const hex = key.hash.slice("sha256:".length);
      this.#byHash.set(hex, { digest: Buffer.from(hex, "hex"), who: authenticated({ id: key.id, scheme: "api_key", roles: key.roles }) });
    }
  }

  /** The principal of `key`, or undefined for an unknown key. */
  verify(key: string): Authenticated | undefined {
    if (key.length === 0 || key.length > MAX_KEY_LENGTH) return undefined;
    const digest = createHash("sha256").update(key, "utf8").digest();
    const entry = this.#byHash.get(digest.toString("hex"));
    if (entry === undefined || !timingSafeEqual(entry.digest, digest)) return undefined;
    return entry.who;
  }
}
