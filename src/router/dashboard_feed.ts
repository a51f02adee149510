import type { Clock, TimerId } from "../deps.ts";

/** How often a snapshot goes out to every open page. */
export const FEED_INTERVAL_MS = 1_000;
/** Open event streams at most; more get 503 (each holds a connection and a slot in the timer's fan-out). */
export const MAX_FEED_CLIENTS = 32;

/** Snapshots queued for a stream that is not read before it is closed. */
const MAX_QUEUED = 5;

const encoder = new TextEncoder();

/**
 * Server-Sent Events to every open dashboard: one timer makes one snapshot per tick and sends the
 * same bytes to each stream. The timer runs only while a stream is open, and every stream ends
 * when `stopping()` turns true, so a router shutting down is not held by open pages.
 */
export class DashboardFeed {
  readonly #clients = new Set<ReadableStreamDefaultController<Uint8Array>>();
  readonly #clock: Clock;
  readonly #snapshot: () => unknown;
  readonly #stopping: () => boolean;
  #timer: TimerId | undefined;

  constructor(clock: Clock, snapshot: () => unknown, stopping: () => boolean) {
    this.#clock = clock;
    this.#snapshot = snapshot;
    this.#stopping = stopping;
  }

  /** Open streams now. */
  get clients(): number {
    return this.#clients.size;
  }

  /** A new `text/event-stream` body, starting with a snapshot; `undefined` when the feed is full. */
  open(): ReadableStream<Uint8Array> | undefined {
    if (this.#clients.size >= MAX_FEED_CLIENTS) return undefined;
    let self: ReadableStreamDefaultController<Uint8Array> | undefined;
    return new ReadableStream<Uint8Array>({
      start: (controller) => {
        self = controller;
        this.#clients.add(controller);
        // The browser reconnects after this long if the stream breaks.
        controller.enqueue(encoder.encode(`retry: 2000\n\n`));
        controller.enqueue(this.#event());
        this.#schedule();
      },
      cancel: () => {
        if (self !== undefined) this.#clients.delete(self);
      },
    });
  }

  #event(): Uint8Array {
    return encoder.encode(`event: snapshot\ndata: ${JSON.stringify(this.#snapshot())}\n\n`);
  }

  #schedule(): void {
    if (this.#timer !== undefined || this.#clients.size === 0) return;
    this.#timer = this.#clock.setTimeout(() => this.#tick(), FEED_INTERVAL_MS);
  }

  #tick(): void {
    this.#timer = undefined;
    const stopping = this.#stopping();
    const event = stopping ? undefined : this.#event();
    for (const controller of this.#clients) {
      // A page that reads nothing (a stalled tab) is closed rather than buffered for.
      const stalled = (controller.desiredSize ?? 0) < -MAX_QUEUED;
      try {
        if (event !== undefined && !stalled) {
          controller.enqueue(event);
          continue;
        }
        controller.close();
      } catch {
        // the stream was cancelled between ticks
      }
      this.#clients.delete(controller);
    }
    this.#schedule();
  }
}
