/**
 * Random trace and span ids, drawn in bulk: one `crypto.getRandomValues()` call costs microseconds
 * (Node's WebCrypto checks its argument each time), a byte from the pool nothing. 16 KiB last ~680
 * spans that each start a trace.
 * @module
 */

const pool = new Uint8Array(16_384);
let used = pool.length;
/** Lowercase hex digits as char codes. */
const DIGIT = Array.from("0123456789abcdef", (c) => c.charCodeAt(0));

function take(bytes: number): number {
  if (used + bytes > pool.length) {
    crypto.getRandomValues(pool);
    used = 0;
  }
  const at = used;
  used += bytes;
  return at;
}

/** Eight random bytes as 16 hex digits, made as one flat string (no concatenation). */
function hex8(p: Uint8Array, i: number): string {
  const a = p[i]!, b = p[i + 1]!, c = p[i + 2]!, d = p[i + 3]!, e = p[i + 4]!, f = p[i + 5]!, g = p[i + 6]!, h = p[i + 7]!;
  return String.fromCharCode(
    DIGIT[a >> 4]!, DIGIT[a & 15]!, DIGIT[b >> 4]!, DIGIT[b & 15]!, DIGIT[c >> 4]!, DIGIT[c & 15]!, DIGIT[d >> 4]!, DIGIT[d & 15]!,
    DIGIT[e >> 4]!, DIGIT[e & 15]!, DIGIT[f >> 4]!, DIGIT[f & 15]!, DIGIT[g >> 4]!, DIGIT[g & 15]!, DIGIT[h >> 4]!, DIGIT[h & 15]!,
  );
}

/** A new span id: 16 lowercase hex digits. */
export function newSpanId(): string {
  return hex8(pool, take(8));
}

/** A new trace id: 32 lowercase hex digits, one flat string (a concatenation would be a rope the encoder walks). */
export function newTraceId(): string {
  const p = pool;
  const i = take(16);
  const a = p[i]!, b = p[i + 1]!, c = p[i + 2]!, d = p[i + 3]!, e = p[i + 4]!, f = p[i + 5]!, g = p[i + 6]!, h = p[i + 7]!;
  const j = p[i + 8]!, k = p[i + 9]!, l = p[i + 10]!, m = p[i + 11]!, n = p[i + 12]!, o = p[i + 13]!, q = p[i + 14]!, r = p[i + 15]!;
  return String.fromCharCode(
    DIGIT[a >> 4]!, DIGIT[a & 15]!, DIGIT[b >> 4]!, DIGIT[b & 15]!, DIGIT[c >> 4]!, DIGIT[c & 15]!, DIGIT[d >> 4]!, DIGIT[d & 15]!,
    DIGIT[e >> 4]!, DIGIT[e & 15]!, DIGIT[f >> 4]!, DIGIT[f & 15]!, DIGIT[g >> 4]!, DIGIT[g & 15]!, DIGIT[h >> 4]!, DIGIT[h & 15]!,
    DIGIT[j >> 4]!, DIGIT[j & 15]!, DIGIT[k >> 4]!, DIGIT[k & 15]!, DIGIT[l >> 4]!, DIGIT[l & 15]!, DIGIT[m >> 4]!, DIGIT[m & 15]!,
    DIGIT[n >> 4]!, DIGIT[n & 15]!, DIGIT[o >> 4]!, DIGIT[o & 15]!, DIGIT[q >> 4]!, DIGIT[q & 15]!, DIGIT[r >> 4]!, DIGIT[r & 15]!,
  );
}
