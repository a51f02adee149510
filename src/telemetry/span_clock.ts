/**
 * Span timestamps from one clock read: `performance.now()` (monotonic, sub-millisecond) placed on the
 * wall clock by an anchor that `Date.now()` refreshes at most once a second. The SDK reads the clock
 * three times per span for the same thing (a wall-clock start at millisecond precision, then
 * monotonic durations).
 * @module
 */

/** How often the anchor follows the wall clock (NTP steps, a monotonic clock that drifts). */
const ANCHOR_MS = 1_000;

let anchorPerf = -Infinity;
let anchorEpochMs = 0;

/** Seconds of the last {@linkcode epochSeconds} call; its nanoseconds are in {@linkcode lastNanos}. */
export let lastNanos = 0;

/**
 * `perf` (a `performance.now()` value) as Unix time: returns the seconds and leaves the nanoseconds
 * in {@linkcode lastNanos} (two numbers, no array per span).
 */
export function epochSeconds(perf: number): number {
  if (perf - anchorPerf > ANCHOR_MS) {
    anchorPerf = perf;
    anchorEpochMs = Date.now();
  }
  const d = perf - anchorPerf;
  const whole = Math.floor(d);
  const ms = anchorEpochMs + whole;
  let s = Math.floor(ms / 1000);
  let ns = (ms - s * 1000) * 1e6 + Math.round((d - whole) * 1e6);
  if (ns >= 1e9) {
    s++;
    ns -= 1e9;
  }
  lastNanos = ns;
  return s;
}

/** Epoch milliseconds as `[seconds, nanos]` (the SDK's `millisToHrTime`). */
export function millisToHr(ms: number): [number, number] {
  return [Math.trunc(ms / 1e3), Math.round((ms % 1e3) * 1e6)];
}
