/** The upper bound of the first latency bucket, in ms. */
const BASE_MS = 0.05;
/** Each bucket is this much wider than the last: quantiles are within ±20 %. */
const FACTOR = 1.4;
const LOG_FACTOR = Math.log(FACTOR);
/** 0.05 ms × 1.4^44 ≈ 135 s: the last bucket takes everything slower. */
export const LATENCY_BUCKETS = 45;

/** The bucket of a latency: bucket i holds (0.05 × 1.4^(i-1), 0.05 × 1.4^i] ms. */
export function bucketOf(ms: number): number {
  if (!(ms > BASE_MS)) return 0;
  return Math.min(LATENCY_BUCKETS - 1, Math.ceil(Math.log(ms / BASE_MS) / LOG_FACTOR));
}

/** A latency that stands for bucket `i`: the geometric middle of its bounds. */
function bucketMs(i: number): number {
  return BASE_MS * FACTOR ** (i - 0.5);
}

/** Requests, errors and latency quantiles over some seconds. */
export interface WindowSummary {
  count: number;
  errors: number;
  p50Ms: number;
  p99Ms: number;
}

/**
 * Counts and a latency histogram per second, for the last `seconds` seconds, in fixed arrays: a
 * slot is reused when its second comes round again, so memory is the same after a minute or a
 * month, and nothing runs on a timer.
 */
export class SecondWindow {
  readonly seconds: number;
  readonly #stamps: Float64Array;
  readonly #counts: Uint32Array;
  readonly #errors: Uint32Array;
  /** `seconds × LATENCY_BUCKETS`, or empty for a window that only counts. */
  readonly #histogram: Uint32Array;

  /** @param latencies keep a histogram per second (for quantiles). @default true */
  constructor(seconds: number, latencies = true) {
    this.seconds = seconds;
    this.#stamps = new Float64Array(seconds).fill(-1);
    this.#counts = new Uint32Array(seconds);
    this.#errors = new Uint32Array(seconds);
    this.#histogram = new Uint32Array(latencies ? seconds * LATENCY_BUCKETS : 0);
  }

  /** One request answered in second `second` (epoch seconds). */
  add(second: number, ms: number, error: boolean): void {
    const slot = this.#slot(second);
    this.#counts[slot]!++;
    if (error) this.#errors[slot]!++;
    if (this.#histogram.length > 0) this.#histogram[slot * LATENCY_BUCKETS + bucketOf(ms)]!++;
  }

  /** The last `span` seconds up to `second`, summed. */
  summary(second: number, span: number = this.seconds): WindowSummary {
    const merged = new Uint32Array(LATENCY_BUCKETS);
    let count = 0;
    let errors = 0;
    for (let s = second - Math.min(span, this.seconds) + 1; s <= second; s++) {
      const slot = s % this.seconds;
      if (this.#stamps[slot] !== s) continue;
      count += this.#counts[slot]!;
      errors += this.#errors[slot]!;
      for (let b = 0; b < LATENCY_BUCKETS && this.#histogram.length > 0; b++) {
        merged[b]! += this.#histogram[slot * LATENCY_BUCKETS + b]!;
      }
    }
    if (this.#histogram.length === 0) return { count, errors, p50Ms: 0, p99Ms: 0 };
    return { count, errors, p50Ms: quantile(merged, count, 0.5), p99Ms: quantile(merged, count, 0.99) };
  }

  /** Per second, oldest first, the last `points` seconds up to `second`. */
  series(second: number, points: number = this.seconds): WindowSummary[] {
    const out: WindowSummary[] = [];
    for (let s = second - points + 1; s <= second; s++) {
      const slot = s % this.seconds;
      if (this.#stamps[slot] !== s) {
        out.push({ count: 0, errors: 0, p50Ms: 0, p99Ms: 0 });
        continue;
      }
      const count = this.#counts[slot]!;
      const histogram = this.#histogram.subarray(slot * LATENCY_BUCKETS, (slot + 1) * LATENCY_BUCKETS);
      out.push({
        count,
        errors: this.#errors[slot]!,
        p50Ms: quantile(histogram, count, 0.5),
        p99Ms: quantile(histogram, count, 0.99),
      });
    }
    return out;
  }

  #slot(second: number): number {
    const slot = second % this.seconds;
    if (this.#stamps[slot] !== second) {
      this.#stamps[slot] = second;
      this.#counts[slot] = 0;
      this.#errors[slot] = 0;
      this.#histogram.fill(0, slot * LATENCY_BUCKETS, (slot + 1) * LATENCY_BUCKETS);
    }
    return slot;
  }
}

function quantile(histogram: Uint32Array, count: number, q: number): number {
  if (count === 0) return 0;
  const rank = Math.ceil(q * count);
  let seen = 0;
  for (let b = 0; b < histogram.length; b++) {
    seen += histogram[b]!;
    if (seen >= rank) return Math.round(bucketMs(b) * 1000) / 1000;
  }
  return Math.round(bucketMs(histogram.length - 1) * 1000) / 1000;
}
