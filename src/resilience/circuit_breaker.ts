import type { Clock, Logger } from "../deps.ts";
import { noopLogger, systemClock } from "../deps.ts";
import { ErrorCode, SwitchyardError } from "../errors.ts";
/** How an outcome moves a breaker: 5xx, timeouts and no-responders fail; 4xx are the caller's fault. */
export type Outcome = "success" | "failure" | "ignored";

export type CircuitState = "closed" | "open" | "half_open";

/** Resolved breaker settings (see `resilience.breaker` in the config). */
export interface BreakerSettings {
  /** Opens after this many failures in a row. */
  consecutiveFailures: number;
  /** Opens when failures / calls in the window reach this (0 < rate ≤ 1)... */
  failureRate: number;
  /** ...once the window holds at least this many calls. */
  minRequests: number;
  /** Length of the rolling window of the failure rate. */
  windowMs: number;
  /** How long the circuit stays open before it lets probes through. */
  resetMs: number;
  /** Probes allowed in flight while half-open. */
  halfOpenProbes: number;
  /** Successful probes that close the circuit. */
  successThreshold: number;
}

/** A state change, as given to `onStateChange`. */
export interface CircuitTransition {
  type: "circuit";
  name: string;
  from: CircuitState;
  to: CircuitState;
}

export interface CircuitBreakerOptions {
  /** What the breaker guards, in logs and errors: `"orders"` or `"orders.get"`. */
  name: string;
  settings: BreakerSettings;
  clock?: Clock;
  logger?: Logger;
  onStateChange?: (event: CircuitTransition) => void;
}

const BUCKETS = 10;

/**
 * A circuit breaker. Closed: calls pass, outcomes are counted (consecutive failures and a failure
 * rate over a rolling window of {@linkcode BUCKETS} buckets). Open: calls are refused with 503
 * `circuit_open` and `retryAfter` until `resetMs` passed; the move to half-open happens lazily,
 * when the state is next read. Half-open: up to `halfOpenProbes` calls in flight; a failed probe
 * re-opens, `successThreshold` successes close. 4xx outcomes (`"ignored"`) never move it.
 *
 * Used as {@linkcode CircuitBreaker.tryAcquire} before a call and {@linkcode CircuitBreaker.record}
 * after it (no allocation); the request pipeline (`src/pipeline/`) decides what an outcome is.
 */
export class CircuitBreaker {
  readonly name: string;
  readonly settings: Readonly<BreakerSettings>;
  readonly #clock: Clock;
  readonly #logger: Logger;
  readonly #onStateChange: ((event: CircuitTransition) => void) | undefined;
  #state: CircuitState = "closed";
  #openedAt = 0;
  #consecutive = 0;
  #probes = 0;
  #probeSuccesses = 0;
  // Rolling window: per bucket, its start time, calls and failures.
  readonly #bucketMs: number;
  readonly #starts = new Float64Array(BUCKETS);
  readonly #calls = new Uint32Array(BUCKETS);
  readonly #failures = new Uint32Array(BUCKETS);

  constructor(options: CircuitBreakerOptions) {
    this.name = options.name;
    this.settings = options.settings;
    this.#clock = options.clock ?? systemClock;
    this.#logger = options.logger ?? noopLogger;
    this.#onStateChange = options.onStateChange;
    this.#bucketMs = Math.max(1, options.settings.windowMs / BUCKETS);
    this.#starts.fill(-Infinity);
  }

  /** The state now; an open circuit whose reset interval passed becomes half-open here. */
  get state(): CircuitState {
    if (this.#state === "open" && this.#clock.now() - this.#openedAt >= this.settings.resetMs) {
      this.#probes = 0;
      this.#probeSuccesses = 0;
      this.#transition("half_open");
    }
    return this.#state;
  }

  /** Seconds until an open circuit lets a probe through (at least 1). */
  get retryAfter(): number {
    const left = this.#openedAt + this.settings.resetMs - this.#clock.now();
    return Math.max(1, Math.ceil(left / 1000));
  }

  /** Takes permission for one call: always when closed, a probe slot when half-open, never when open. */
  tryAcquire(): boolean {
    const state = this.state;
    if (state === "closed") return true;
    if (state === "half_open" && this.#probes < this.settings.halfOpenProbes) {
      this.#probes++;
      return true;
    }
    return false;
  }

  /** The error for a refused call. */
  rejection(): SwitchyardError {
    return new SwitchyardError(ErrorCode.CircuitOpen, `Cannot call "${this.name}": circuit is open`, { retryAfter: this.retryAfter });
  }

  /** Records the outcome of a call that {@linkcode CircuitBreaker.tryAcquire} let through. */
  record(outcome: Outcome): void {
    if (this.#state === "half_open") {
      if (this.#probes > 0) this.#probes--;
      if (outcome === "failure") this.#open();
      else if (outcome === "success" && ++this.#probeSuccesses >= this.settings.successThreshold) this.#close();
      return;
    }
    if (this.#state === "open" || outcome === "ignored") return;
    const i = this.#bucket();
    this.#calls[i]!++;
    if (outcome === "success") {
      this.#consecutive = 0;
      return;
    }
    this.#failures[i]!++;
    this.#consecutive++;
    if (this.#consecutive >= this.settings.consecutiveFailures || this.#rateTripped()) this.#open();
  }

  /** For the catalog: state, and while open, seconds until a probe. */
  describe(): { state: CircuitState; retryAfter?: number } {
    const state = this.state;
    return state === "open" ? { state, retryAfter: this.retryAfter } : { state };
  }

  #bucket(): number {
    const now = this.#clock.now();
    const start = now - (now % this.#bucketMs);
    const i = Math.floor(now / this.#bucketMs) % BUCKETS;
    if (this.#starts[i] !== start) {
      this.#starts[i] = start;
      this.#calls[i] = 0;
      this.#failures[i] = 0;
    }
    return i;
  }

  #rateTripped(): boolean {
    const oldest = this.#clock.now() - this.settings.windowMs;
    let calls = 0;
    let failures = 0;
    for (let i = 0; i < BUCKETS; i++) {
      if (this.#starts[i]! > oldest) {
        calls += this.#calls[i]!;
        failures += this.#failures[i]!;
      }
    }
    return calls >= this.settings.minRequests && failures / calls >= this.settings.failureRate;
  }

  #open(): void {
    this.#openedAt = this.#clock.now();
    this.#probes = 0;
    this.#transition("open");
  }

  #close(): void {
    this.#consecutive = 0;
    this.#calls.fill(0);
    this.#failures.fill(0);
    this.#starts.fill(-Infinity);
    this.#transition("closed");
  }

  #transition(to: CircuitState): void {
    const from = this.#state;
    if (from === to) return;
    this.#state = to;
    const attrs = { plugin: this.name, from, to };
    if (to === "open") this.#logger.warn("circuit opened", { ...attrs, retryAfter: this.retryAfter });
    else this.#logger.info(to === "closed" ? "circuit closed" : "circuit half-open", attrs);
    if (this.#onStateChange !== undefined) {
      try {
        this.#onStateChange({ type: "circuit", name: this.name, from, to });
      } catch (err) {
        this.#logger.error("onStateChange threw", { plugin: this.name, error: String(err) });
      }
    }
  }
}
