import { ErrorCode } from "../errors.ts";

/** Stream duration buckets in seconds, from 5 ms to 10 min (the default stream deadline is 5 min). */
export const STREAM_DURATION_BUCKETS_SECONDS: readonly number[] = [
  0.005,
  0.01,
  0.025,
  0.05,
  0.1,
  0.25,
  0.5,
  1,
  2.5,
  5,
  10,
  30,
  60,
  120,
  300,
  600,
];

/** The outcome of a stream that ended well. */
export const STREAM_OK = "ok";
/** The outcome of a stream the client ended: it went away, or took nothing for the idle timeout. */
export const STREAM_CANCELLED = "cancelled";

const KNOWN_CODES: ReadonlySet<string> = new Set(Object.values(ErrorCode));

/**
 * The `code` label of a stream's end: `ok`, `cancelled`, one of the router's own error codes, or
 * `plugin_error` for a plugin's own code (a plugin chooses its codes: as label values they would
 * add series without bound).
 */
export function streamOutcome(code: string, cancelled: boolean): string {
  if (code === "") return cancelled ? STREAM_CANCELLED : STREAM_OK;
  return KNOWN_CODES.has(code) ? code : ErrorCode.PluginError;
}

/** Durations of one method's streams that ended with one outcome: a histogram's parts. */
export class StreamDurations {
  /** Per bucket of {@linkcode STREAM_DURATION_BUCKETS_SECONDS}, then one for longer streams (not cumulative). */
  readonly buckets = new Float64Array(STREAM_DURATION_BUCKETS_SECONDS.length + 1);
  count = 0;
  sum = 0;

  record(seconds: number): void {
    this.count++;
    this.sum += seconds;
    const bounds = STREAM_DURATION_BUCKETS_SECONDS;
    let i = 0;
    while (i < bounds.length && seconds > bounds[i]!) i++;
    this.buckets[i]!++;
  }
}

/** What one plugin method's streams sent, as plain counters read at scrape time. */
export class StreamSeries {
  /** Items written to clients. */
  items = 0;
  /** Bytes of those items (their JSON, without NDJSON or SSE framing). */
  bytes = 0;
  /** By outcome (see {@linkcode streamOutcome}): a bounded set of keys. */
  readonly durations = new Map<string, StreamDurations>();

  /** A stream ended after `seconds` with `outcome`. */
  ended(outcome: string, seconds: number): void {
    let d = this.durations.get(outcome);
    if (d === undefined) {
      d = new StreamDurations();
      this.durations.set(outcome, d);
    }
    d.record(seconds);
  }
}

/** A sample as prom-client's registry formats it from a metric's `get()`. */
interface Sample {
  labels: Record<string, string | number>;
  value: number;
  metricName: string;
}

/**
 * The stream duration histogram as a metric object prom-client's registry formats (its `get()`
 * shape), built from the {@linkcode StreamSeries} of each method at scrape time.
 */
export function streamDurationHistogram(
  methods: () => Iterable<{ plugin: { name: string }; method: string; stream: StreamSeries | undefined }>,
) {
  const name = "switchyard_stream_duration_seconds";
  return {
    name,
    help: "Time from receiving a stream's request to its last byte, by plugin, method and outcome code",
    type: "histogram" as const,
    aggregator: "sum" as const,
    get() {
      const values: Sample[] = [];
      for (const m of methods()) {
        if (m.stream === undefined) continue;
        for (const [code, d] of m.stream.durations) {
          const labels = { plugin: m.plugin.name, method: m.method, code };
          let cumulative = 0;
          for (let i = 0; i < STREAM_DURATION_BUCKETS_SECONDS.length; i++) {
            cumulative += d.buckets[i]!;
            values.push({
              labels: { ...labels, le: STREAM_DURATION_BUCKETS_SECONDS[i]! },
              value: cumulative,
              metricName: `${name}_bucket`,
            });
          }
          values.push({ labels: { ...labels, le: "+Inf" }, value: d.count, metricName: `${name}_bucket` });
          values.push({ labels, value: d.sum, metricName: `${name}_sum` });
          values.push({ labels, value: d.count, metricName: `${name}_count` });
        }
      }
      return Promise.resolve({ name, help: this.help, type: this.type, aggregator: this.aggregator, values });
    },
  };
}
