import type { Clock } from "../deps.ts";
import { isBusError, SRV_PREFIX } from "../bus/mod.ts";
import type { RequestMux } from "../bus/mod.ts";
import type { InstanceEntry } from "../registry/mod.ts";

/** How often instances with requests in flight are looked at. */
export const STALL_CHECK_MS = 250;
/** An instance silent this long (or 4× its usual latency, if longer) while requests wait on it is asked if it is there. */
export const STALL_MS = 500;
const PROBE_TIMEOUT_MS = 1_000;
const EMPTY = new Uint8Array(0);

/**
 * Finds instances that died with requests in flight. A process killed with `kill -9` answers
 * nothing more, and nothing tells the router: its requests would wait for their deadlines, and a
 * least-pending balancer would avoid it for its stuck requests, so no new request finds it gone
 * either. While requests wait on an instance that has not answered anything for a while, this asks
 * it for `$SRV.PING` on its own subject; no responders means it is gone, and `gone` fails what
 * waits on it at once. Costs one timer while anything is in flight, and a probe only on silence.
 */
export class StallWatch {
  readonly #clock: Clock;
  readonly #mux: RequestMux;
  readonly #gone: (instance: InstanceEntry) => void;
  readonly #watched = new Set<InstanceEntry>();
  readonly #probing = new Set<InstanceEntry>();
  #timer: unknown;
  readonly #tick = () => this.#check();

  constructor(clock: Clock, mux: RequestMux, gone: (instance: InstanceEntry) => void) {
    this.#clock = clock;
    this.#mux = mux;
    this.#gone = gone;
  }

  /** A request was sent to `instance`. */
  watch(instance: InstanceEntry): void {
    if (this.#watched.has(instance)) return;
    this.#watched.add(instance);
    this.#timer ??= this.#clock.setTimeout(this.#tick, STALL_CHECK_MS);
  }

  /** Stops watching; the timer goes. */
  stop(): void {
    this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#watched.clear();
  }

  #check(): void {
    this.#timer = undefined;
    const now = this.#clock.now();
    for (const instance of this.#watched) {
      if (instance.pending <= 0) {
        this.#watched.delete(instance);
        continue;
      }
      const quietMs = now - Math.max(instance.lastReplyAt, instance.joinedAt);
      if (quietMs >= Math.max(STALL_MS, 4 * instance.ewmaMs) && !this.#probing.has(instance)) void this.#probe(instance);
    }
    if (this.#watched.size > 0) this.#timer = this.#clock.setTimeout(this.#tick, STALL_CHECK_MS);
  }

  async #probe(instance: InstanceEntry): Promise<void> {
    this.#probing.add(instance);
    try {
      await this.#mux.request(`${SRV_PREFIX}.PING.${instance.plugin}.${instance.id}`, EMPTY, { timeoutMs: PROBE_TIMEOUT_MS });
      // It answered: alive, only slow. Its handlers' own deadlines deal with that.
      instance.lastReplyAt = this.#clock.now();
    } catch (err) {
      if (isBusError(err) && err.unsent) this.#gone(instance);
    } finally {
      this.#probing.delete(instance);
    }
  }
}
