import type { MethodSeries } from "./metrics.ts";
import { streamOutcome } from "./stream_metrics.ts";
import type { StreamSeries } from "./stream_metrics.ts";

/** What a stream tells the request's trace (`RequestTrace` is one). */
export interface StreamTrace {
  readonly span: { isRecording(): boolean };
  /** The answer is a stream: the span stays open until {@linkcode StreamTrace.streamEnded}. */
  streamStarted(): void;
  /** The running count passed a multiple of {@linkcode STREAM_EVENT_EVERY}. */
  streamItems(items: number): void;
  /** The stream is over after `items` items; `code` its error ("" for none), `outcome` its metrics label. */
  streamEnded(items: number, code: string, outcome: string): void;
}

const NEWLINE = 0x0a;
/** The request span gets an `items` event each time the running count passes a multiple of this. */
export const STREAM_EVENT_EVERY = 100;

/**
 * One streaming response's metrics and span, from its first item to its last byte: counts the
 * items and bytes of each message it writes (a scan for line feeds, no allocation), keeps the
 * plugin's open-stream gauge, and records the duration and outcome at the end. With tracing on,
 * the request's span lasts until then, with an `items` event at most every
 * {@linkcode STREAM_EVENT_EVERY} items and the count as `switchyard.stream.items`.
 */
export class StreamMeter {
  /** Items written so far. */
  items = 0;
  readonly #series: MethodSeries;
  readonly #stream: StreamSeries;
  readonly #trace: StreamTrace | undefined;
  readonly #startedMs: number;
  /** The next count at which the span gets an event; never reached without a recording span. */
  #nextEvent: number;
  #ended = false;

  constructor(series: MethodSeries, trace: StreamTrace | undefined, startedMs: number) {
    this.#series = series;
    this.#stream = series.streams();
    this.#trace = trace;
    this.#startedMs = startedMs;
    this.#nextEvent = trace?.span.isRecording() ? STREAM_EVENT_EVERY : Number.POSITIVE_INFINITY;
    series.plugin.openStreams++;
    trace?.streamStarted();
  }

  /**
   * A message's items were written: `data` holds them separated by line feeds (JSON text has none
   * of its own). An empty message (the end) holds none.
   */
  sent(data: Uint8Array): void {
    if (data.length === 0) return;
    let n = 1;
    for (let at = data.indexOf(NEWLINE); at >= 0; at = data.indexOf(NEWLINE, at + 1)) n++;
    const stream = this.#stream;
    stream.items += n;
    stream.bytes += data.length - (n - 1);
    const items = this.items += n;
    if (items >= this.#nextEvent) {
      this.#nextEvent = (Math.floor(items / STREAM_EVENT_EVERY) + 1) * STREAM_EVENT_EVERY;
      this.#trace!.streamItems(items);
    }
  }

  /**
   * The stream is over: its last byte written, or the client gone (`cancelled`). `code` is the
   * error that ended it, "" for none. Only the first call counts.
   */
  end(code: string, cancelled: boolean): void {
    if (this.#ended) return;
    this.#ended = true;
    const outcome = streamOutcome(code, cancelled);
    this.#series.plugin.openStreams--;
    this.#stream.ended(outcome, (performance.now() - this.#startedMs) / 1000);
    this.#trace?.streamEnded(this.items, code, outcome);
  }
}
