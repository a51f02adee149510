import { randomBytes, scrypt, timingSafeEqual } from "node:crypto";
import { Buffer } from "node:buffer";

/** scrypt cost: N = 2^15, r = 8, p = 1 (32 MiB, about 100 ms here). Stored in each hash, so it can change. */
export const DEFAULT_SCRYPT_LN = 15;
const KEY_LENGTH = 32;
const PHC = /^\$scrypt\$ln=(\d+),r=(\d+),p=(\d+)\$([A-Za-z0-9+/]+={0,2})\$([A-Za-z0-9+/]+={0,2})$/;

interface Params {
  ln: number;
  r: number;
  p: number;
  salt: Buffer;
  hash: Buffer;
}

function derive(password: string, salt: Buffer, ln: number, r: number, p: number, length: number): Promise<Buffer> {
  const N = 2 ** ln;
  return new Promise((resolve, reject) =>
    scrypt(password, salt, length, { N, r, p, maxmem: 256 * N * r + 1024 * 1024 }, (err, key) => err ? reject(err) : resolve(key))
  );
}

/**
 * A PHC-format scrypt hash of `password`: `$scrypt$ln=15,r=8,p=1$<salt>$<hash>` (base64).
 * @example `await hashPassword("s3cret")`
 */
export async function hashPassword(password: string, ln = DEFAULT_SCRYPT_LN): Promise<string> {
  if (!Number.isInteger(ln) || ln < 10 || ln > 20) throw new RangeError("ln must be an integer in [10, 20]");
  const salt = randomBytes(16);
  const hash = await derive(password, salt, ln, 8, 1, KEY_LENGTH);
  return `$scrypt$ln=${ln},r=8,p=1$${salt.toString("base64")}$${hash.toString("base64")}`;
}

/**
 * Parses a PHC scrypt hash.
 * @throws {TypeError} when it is not one, or its cost is out of range.
 */
export function parsePasswordHash(phc: string): Params {
  const m = PHC.exec(phc);
  if (m === null) throw new TypeError("not a $scrypt$ PHC hash");
  const [ln, r, p] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (ln < 10 || ln > 20 || r < 1 || r > 32 || p < 1 || p > 16) throw new TypeError("scrypt cost out of range (ln 10..20, r 1..32, p 1..16)");
  return { ln, r, p, salt: Buffer.from(m[4]!, "base64"), hash: Buffer.from(m[5]!, "base64") };
}

/** Whether `password` matches the parsed hash; compares in constant time. */
export async function verifyPassword(password: string, params: Params): Promise<boolean> {
  const key = await derive(password, params.salt, params.ln, params.r, params.p, params.hash.length);
  return timingSafeEqual(key, params.hash);
}

export type { Params as PasswordHash };
