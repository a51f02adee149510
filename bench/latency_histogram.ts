/**
 * A small HDR-style latency histogram in whole microseconds: exact below 256 µs, then 128 linear
 * sub-buckets per power of two (under 0.8 % relative error). Fixed memory, O(1) record.
 * @module
 */

const SUB_BITS = 7;
const SUB = 1 << SUB_BITS; // 128 sub-buckets per octave
const LINEAR = SUB * 2; // values below this are recorded exactly
const OCTAVES = 32;
const MAX_US = 2 ** 31 - 1;

/** Latency histogram with percentiles in microseconds. */
export class LatencyHistogram {
  readonly #counts = new Float64Array(LINEAR + OCTAVES * SUB);
  #count = 0;
  #max = 0;

  /** Records one latency given in microseconds. */
  record(us: number): void {
    const v = Math.min(MAX_US, Math.max(0, Math.round(us)));
    this.#counts[bucketOf(v)]! += 1;
    this.#count += 1;
    if (v > this.#max) this.#max = v;
  }

  /** Adds every sample of `other` to this histogram. */
  merge(other: LatencyHistogram): void {
    for (let i = 0; i < this.#counts.length; i++) this.#counts[i]! += other.#counts[i]!;
    this.#count += other.#count;
    this.#max = Math.max(this.#max, other.#max);
  }

  get count(): number {
    return this.#count;
  }

  get max(): number {
    return this.#max;
  }

  /** The value at percentile `p` (0–100), in µs; 0 when empty. */
  percentile(p: number): number {
    if (this.#count === 0) return 0;
    const target = Math.max(1, Math.ceil((p / 100) * this.#count));
    let seen = 0;
    for (let i = 0; i < this.#counts.length; i++) {
      seen += this.#counts[i]!;
      if (seen >= target) return Math.min(valueOf(i), this.#max);
    }
    return this.#max;
  }
}

function bucketOf(v: number): number {
  if (v < LINEAR) return v;
  const exp = 31 - Math.clz32(v) - SUB_BITS; // v >> exp lies in [SUB, 2*SUB)
  return LINEAR + (exp - 1) * SUB + ((v >>> exp) - SUB);
}

function valueOf(index: number): number {
  if (index < LINEAR) return index;
  const exp = Math.floor((index - LINEAR) / SUB) + 1;
  const mantissa = ((index - LINEAR) % SUB) + SUB;
  // the middle of the bucket
  return mantissa * 2 ** exp + 2 ** (exp - 1);
}
