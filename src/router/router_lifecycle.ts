import type { Clock, Logger } from "../deps.ts";
import { noopLogger, systemClock } from "../deps.ts";
import { ErrorCode, SwitchyardError } from "../errors.ts";
import type { PendingRequest } from "../bus/mod.ts";
import { InflightTracker } from "./inflight.ts";
import { ActiveStreams } from "./active_streams.ts";
import type { PluginTraffic } from "./inflight.ts";

/** How long aborted requests get to settle after a drain or shutdown ran out of time. */
export const ABORT_GRACE_MS = 1_000;
/** How often a drain reports progress. @default 250 */
export const DEFAULT_PROGRESS_INTERVAL_MS = 250;

/** What a router lifecycle needs of the request mux: tagged blocking and failing. */
export interface AbortableRequests {
  block(tag: string | undefined, error: () => Error): void;
  unblock(tag: string | undefined): void;
  failWhere(test: (request: PendingRequest) => boolean, error: (request: PendingRequest) => Error): number;
}

/** Options of {@linkcode RouterLifecycle}. */
export interface RouterLifecycleOptions {
  /** Whether a plugin name is registered (bounds the tracker's map). */
  known: (plugin: string) => boolean;
  /** The router's request mux: aborts go through it. */
  requests: AbortableRequests;
  /** The drain timeout when a call gives none; read at each drain, so a config reload applies. */
  drainTimeoutMs: () => number;
  clock?: Clock;
  logger?: Logger;
}

/** One progress report of a drain. */
export interface DrainProgress {
  /** The plugin, or `undefined` for a drain of the whole router. */
  plugin: string | undefined;
  inflight: number;
  elapsedMs: number;
}

/** Options of {@linkcode RouterLifecycle.drainPlugin}. */
export interface PluginDrainOptions {
  /** How long to wait for in-flight requests. @default `router.drainTimeoutMs` */
  timeoutMs?: number;
  /** At the timeout, abort what is still in flight (503 `draining`) instead of leaving it running. @default false */
  force?: boolean;
  /** Called at the start, every `progressIntervalMs` while waiting, and at the end. A throw is ignored. */
  onProgress?: (progress: DrainProgress) => void;
  /** @default 250 */
  progressIntervalMs?: number;
}

/** The outcome of a drain. */
export interface DrainResult {
  plugin: string | undefined;
  /** True when nothing was left in flight (without aborting anything). */
  drained: boolean;
  /** In flight when the drain began. */
  inflightAtStart: number;
  /** Requests failed with 503 `draining`, and streams ended with a `draining` error item, at the timeout (`force`, or a router shutdown). */
  aborted: number;
  /** Still in flight when the drain returned. */
  remaining: number;
  elapsedMs: number;
}

/**
 * The router's side of the lifecycle: in-flight tracking per plugin, plugin drains (stop routing
 * to a plugin, wait for what it has in flight, optionally abort the rest), and the router's own
 * graceful shutdown (refuse new requests, wait, abort at the deadline).
 */
export class RouterLifecycle {
  readonly tracker: InflightTracker;
  /** Streaming responses being written (counted in flight by the tracker until their last byte). */
  readonly streams = new ActiveStreams();
  readonly #requests: AbortableRequests;
  readonly #drainTimeoutMs: () => number;
  readonly #clock: Clock;
  readonly #logger: Logger;
  #shuttingDown = false;

  constructor(options: RouterLifecycleOptions) {
    this.tracker = new InflightTracker(options.known);
    this.#requests = options.requests;
    this.#drainTimeoutMs = options.drainTimeoutMs;
    this.#clock = options.clock ?? systemClock;
    this.#logger = options.logger ?? noopLogger;
  }

  /** True once {@linkcode RouterLifecycle.shutdown} began: new requests get 503 `draining`. */
  get shuttingDown(): boolean {
    return this.#shuttingDown;
  }

  /** In-flight count and drain state of one plugin, for the catalog. */
  describe(plugin: string): { inFlight: number; draining: boolean } {
    const t = this.tracker.traffic(plugin);
    return { inFlight: t?.inflight ?? 0, draining: t?.draining ?? false };
  }

  /**
   * Stops routing to `plugin` in this router (new requests get 503 `draining` with `Retry-After`)
   * and waits for its in-flight requests, up to `timeoutMs`; with `force`, aborts the rest then.
   * The plugin stays drained until {@linkcode RouterLifecycle.resumePlugin}.
   * @throws {SwitchyardError} `plugin_not_found` for a plugin the registry does not know.
   */
  async drainPlugin(plugin: string, options: PluginDrainOptions = {}): Promise<DrainResult> {
    const traffic = this.tracker.traffic(plugin);
    if (traffic === undefined) throw new SwitchyardError(ErrorCode.PluginNotFound, `No plugin "${plugin}"`);
    traffic.draining = true;
    this.#logger.info("plugin draining", { plugin, inflight: traffic.inflight });
    const result = await this.#drain(traffic, options, () => drainingError(`Plugin "${plugin}" is draining`));
    this.#logger.info(result.drained ? "plugin drained" : "plugin drain timed out", { ...result });
    return result;
  }

  /** Routes to `plugin` again after a drain; false when it was not drained. */
  resumePlugin(plugin: string): boolean {
    const traffic = this.tracker.traffic(plugin);
    if (traffic === undefined || !traffic.draining) return false;
    traffic.draining = false;
    this.#requests.unblock(plugin);
    this.#logger.info("plugin resumed", { plugin });
    return true;
  }

  /**
   * The router's drain: from now on new requests get 503 `draining` (see {@linkcode RouterLifecycle.gate});
   * waits for every in-flight request up to `timeoutMs`, then aborts the rest with 503 `draining`.
   */
  async shutdown(options: Omit<PluginDrainOptions, "force"> = {}): Promise<DrainResult> {
    this.#shuttingDown = true;
    return await this.#drain(undefined, { ...options, force: true }, () => drainingError("The router is shutting down"));
  }

  /**
   * Wraps the server's fetch handler: while shutting down, every request but `/health` and
   * `/admin/…` gets 503 `draining` with `Connection: close` and `Retry-After`, without reaching the
   * app. Otherwise it costs one property read per request.
   */
  gate<P>(fetch: (req: Request, peer?: P) => Response | Promise<Response>): (req: Request, peer?: P) => Response | Promise<Response> {
    // The peer (the connection's client certificate, behind the connection guard) passes through.
    return (req, peer) => this.#shuttingDown ? refuse(req, peer, fetch) : fetch(req, peer);
  }

  async #drain(traffic: PluginTraffic | undefined, options: PluginDrainOptions, error: () => Error): Promise<DrainResult> {
    const clock = this.#clock;
    const started = clock.now();
    const plugin = traffic?.name;
    const count = () => traffic === undefined ? this.tracker.total : traffic.inflight;
    const inflightAtStart = count();
    const report = () => {
      try {
        options.onProgress?.({ plugin, inflight: count(), elapsedMs: clock.now() - started });
      } catch {
        // a progress listener cannot break the drain
      }
    };
    report();
    const drained = await this.#waitIdle(traffic, options.timeoutMs ?? this.#drainTimeoutMs(), report, options.progressIntervalMs);
    let aborted = 0;
    if (!drained && options.force === true) {
      // Block first, so nothing sneaks out between the sweep and the block (a retry after a backoff).
      this.#requests.block(plugin, error);
      // Streams first: ending one drops its own pulls, so each counts once.
      aborted = this.streams.abortWhere(plugin, error);
      aborted += this.#requests.failWhere(plugin === undefined ? () => true : (p) => p.tag === plugin, error);
      this.#logger.warn("drain timed out: aborted requests in flight", { plugin, aborted, inflight: count() });
      await this.#waitIdle(traffic, ABORT_GRACE_MS, report, options.progressIntervalMs);
    }
    report();
    return { plugin, drained, inflightAtStart, aborted, remaining: count(), elapsedMs: clock.now() - started };
  }

  /** True once idle; false when `timeoutMs` passed first. */
  #waitIdle(traffic: PluginTraffic | undefined, timeoutMs: number, report: () => void, intervalMs = DEFAULT_PROGRESS_INTERVAL_MS): Promise<boolean> {
    const clock = this.#clock;
    return new Promise((resolve) => {
      let done = false;
      let tick: unknown;
      const finish = (idle: boolean) => {
        if (done) return;
        done = true;
        clock.clearTimeout(deadline);
        clock.clearTimeout(tick);
        resolve(idle);
      };
      const deadline = clock.setTimeout(() => finish(false), timeoutMs);
      const loop = () => {
        tick = clock.setTimeout(() => {
          report();
          if (!done) loop();
        }, intervalMs);
      };
      loop();
      void this.tracker.whenIdle(traffic).then(() => finish(true));
    });
  }
}

function drainingError(message: string): SwitchyardError {
  return new SwitchyardError(ErrorCode.Draining, message, { retryAfter: 1 });
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;
const REFUSED_HEADERS = { "content-type": "application/json", connection: "close", "retry-after": "1" };

function refuse<P>(req: Request, peer: P | undefined, fetch: (req: Request, peer?: P) => Response | Promise<Response>): Response | Promise<Response> {
  const path = new URL(req.url).pathname;
  if (path === "/health" || path.startsWith("/admin/")) return fetch(req, peer);
  const incoming = req.headers.get("x-request-id");
  const requestId = incoming !== null && REQUEST_ID.test(incoming) ? incoming : `draining-${Math.random().toString(36).slice(2, 10)}`;
  const body = { error: { code: ErrorCode.Draining, message: "The router is shutting down", requestId } };
  return new Response(JSON.stringify(body), { status: 503, headers: { ...REFUSED_HEADERS, "x-request-id": requestId } });
}
