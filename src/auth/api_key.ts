import * as nodeCrypto from "node:crypto";
import { randomBytes } from "node:crypto";
import type { Authenticated } from "./principal.ts";
import { authenticated } from "./principal.ts";

/** One-shot `crypto.hash` (Node 21.7+, Deno, Bun) is 2-3 times faster than `createHash()`. */
const oneShot = (nodeCrypto as { hash?: (algorithm: string, data: string, encoding: "hex") => string }).hash;
/** SHA-256 of `text` (UTF-8) in hex. */
export const sha256Hex: (text: string) => string = oneShot === undefined
  ? (text: string) => nodeCrypto.createHash("sha256").update(text, "utf8").digest("hex")
  : (text: string) => oneShot("sha256", text, "hex");

/** `sha256:<hex>` of an API key, as stored in the config. */
export function hashApiKey(key: string): string {
  return `sha256:${sha256Hex(key)}`;
}

/** A new random API key: `sy_` and 32 random bytes in base64url (256 bits). */
export function generateApiKey(): string {
  return `sy_${randomBytes(32).toString("base64url")}`;
}

/** Keys longer than this are refused unhashed: no one hashes megabytes per request. */
const MAX_KEY_LENGTH = 512;

/**
 * API keys looked up by their SHA-256. Keys are long random strings, so a fast hash is as safe
 * as a slow one (there is no dictionary to try) and costs one hash per request. The key itself is
 * never compared with anything: the lookup compares digests, and learning how much of a digest
 * matched tells nothing about a key that would produce it (preimage resistance), so the lookup
 * has no timing leak worth a constant-time comparison.
 */
export class ApiKeys {
  readonly #byHash = new Map<string, Authenticated>();

  constructor(keys: readonly { id: string; hash: string; roles: readonly string[] }[]) {
    for (const key of keys) {
      this.#byHash.set(key.hash.slice("sha256:".length), authenticated({ id: key.id, scheme: "api_key", roles: key.roles }));
    }
  }

  /** The principal of `key`, or undefined for an unknown key. */
  verify(key: string): Authenticated | undefined {
    if (key.length === 0 || key.length > MAX_KEY_LENGTH) return undefined;
    return this.#byHash.get(sha256Hex(key));
  }
}
