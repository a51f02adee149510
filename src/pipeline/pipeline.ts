import type { Clock, Logger } from "../deps.ts";
import { ErrorCode, SwitchyardError } from "../errors.ts";
import { METHOD_NAME, PLUGIN_NAME, RequestLostError } from "../bus/mod.ts";
import type { BusReply, RequestMux } from "../bus/mod.ts";
import type { Discovery, InstanceEntry, Registry, VersionEntry } from "../registry/mod.ts";
import { Balancing, VersionRules } from "../balancing/mod.ts";
import { ResiliencePolicies } from "../resilience/mod.ts";
import type { CircuitTransition } from "../resilience/mod.ts";
import type { PipelineSettings } from "./settings.ts";
import type { Call, SendContext, Target } from "./types.ts";
import { sendWithRetries } from "./send.ts";
import { methodNotFound, pluginNotFound } from "./not_found.ts";
import { StallWatch } from "./stall_watch.ts";
import { StreamCall } from "./stream_call.ts";

/** How long a request that finds no instance waits for announced ones being proven. */
export const ARRIVAL_WAIT_MS = 2_000;

/** Options of {@linkcode RequestPipeline}. */
export interface RequestPipelineOptions {
  registry: Registry;
  mux: RequestMux;
  settings: PipelineSettings;
  clock: Clock;
  logger: Logger;
  /** Uniform in [0, 1): canary splits, balancer choices, backoff jitter. @default Math.random */
  random?: () => number;
  /** Told of every breaker transition (metrics, logs). */
  onBreakerChange?: (event: CircuitTransition) => void;
  /**
   * Told when a request found nobody on an instance's own subject and the instance was removed:
   * discovery asks for it again soon ({@linkcode Discovery.recheck}), in case it is alive and only
   * its subscription had not reached this router's server yet (it rejoined through another node).
   */
  onRemoved?: (instance: InstanceEntry) => void;
}

/** Header values echoed in error messages are cut to this many characters. */
const ECHO_MAX = 100;

/**
 * The one request pipeline, for the router and for `ctx.call` alike. They differ only in where a
 * request comes from and where its answer goes; each runs the same named steps:
 * {@linkcode RequestPipeline.resolve} (version rules and canary, then the method),
 * {@linkcode RequestPipeline.admit} (rate limit), and {@linkcode RequestPipeline.send} (breaker,
 * bulkhead, instance pick with outlier ejection, attempts with deadline, retries under the budget,
 * the reply decoded once). The balancer only picks; the pipeline sends.
 */
export class RequestPipeline implements SendContext {
  readonly registry: Registry;
  readonly mux: RequestMux;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly policies: ResiliencePolicies;
  readonly balancing: Balancing;
  readonly versions: VersionRules;
  /** Finds instances that died with requests in flight (see {@linkcode StallWatch}). */
  readonly stalls: StallWatch;
  #settings: PipelineSettings;
  readonly #onRemoved: ((instance: InstanceEntry) => void) | undefined;

  constructor(options: RequestPipelineOptions) {
    this.#onRemoved = options.onRemoved;
    this.registry = options.registry;
    this.mux = options.mux;
    this.clock = options.clock;
    this.logger = options.logger;
    this.#settings = options.settings;
    const random = options.random ?? Math.random;
    this.policies = new ResiliencePolicies(options.settings, {
      clock: options.clock,
      logger: options.logger,
      random,
      ...(options.onBreakerChange === undefined ? {} : { onStateChange: options.onBreakerChange }),
    });
    this.balancing = new Balancing(options.settings, random);
    this.versions = new VersionRules(options.settings.plugins, random);
    this.stalls = new StallWatch(options.clock, options.mux, (instance) => this.instanceDead(instance, "it stopped answering and nobody listens on its subject"));
  }

  /** Stops the stall watch's timer (the router's shutdown, a caller's close). */
  close(): void {
    this.stalls.stop();
  }

  /** The settings in force. */
  get settings(): PipelineSettings {
    return this.#settings;
  }

  /**
   * Applies new settings (a config reload): policies, balancers and version rules are rebuilt from
   * them; stateful parts whose settings did not change keep their state. Requests already running
   * finish with what they started with.
   */
  reconfigure(settings: PipelineSettings): void {
    this.#settings = settings;
    this.policies.reconfigure(settings);
    this.balancing.reconfigure(settings);
    this.versions.reconfigure(settings.plugins);
  }

  /**
   * Step 1 as the router and `ctx.call` take it: {@linkcode RequestPipeline.resolve}, except that
   * when no instance is available while instances of `plugin` that announced themselves are being
   * proven, it waits for those proofs (at most {@linkcode ARRIVAL_WAIT_MS}) and resolves once more.
   * In a blue-green swap the new version announces itself a round trip or two before routers have
   * admitted it, and the old one may say it drains in between. The target itself when there is one
   * at once (no promise on the hot path); a promise only on that error path.
   */
  resolveArriving(plugin: string, methodName: string, range: string | undefined): Target | Promise<Target> {
    try {
      return this.resolve(plugin, methodName, range);
    } catch (err) {
      const arrivals = err instanceof SwitchyardError && err.code === ErrorCode.PluginUnavailable ? this.registry.arrivals(plugin) : undefined;
      if (arrivals === undefined) throw err;
      return this.#afterArrivals(arrivals).then(() => this.resolve(plugin, methodName, range));
    }
  }

  async #afterArrivals(arrivals: Promise<unknown>): Promise<void> {
    let timer: ReturnType<Clock["setTimeout"]> | undefined;
    try {
      await Promise.race([arrivals, new Promise<void>((resolve) => timer = this.clock.setTimeout(resolve, ARRIVAL_WAIT_MS))]);
    } finally {
      if (timer !== undefined) this.clock.clearTimeout(timer);
    }
  }

  /**
   * Step 1: the version and method a request goes to. `range` is what the caller asked for; without
   * one, the config's rule (a canary split, a range) decides, else the highest stable version.
   * @throws {SwitchyardError} `plugin_not_found`, `method_not_found`, `no_matching_version`,
   * `plugin_unavailable`, or `invalid_request` for a malformed range.
   */
  resolve(plugin: string, methodName: string, range: string | undefined): Target {
    if (!PLUGIN_NAME.test(plugin)) throw pluginNotFound(plugin);
    const registry = this.registry;
    const chosen = range ?? this.versions.rangeFor(registry, plugin);
    let version: VersionEntry | null | undefined;
    try {
      version = registry.pick(plugin, chosen);
    } catch {
      const shown = chosen!.length > ECHO_MAX ? `${chosen!.slice(0, ECHO_MAX)}…` : chosen;
      throw new SwitchyardError(ErrorCode.InvalidRequest, `x-plugin-version: "${shown}" is not a semver range`);
    }
    if (version === undefined) throw pluginNotFound(plugin);
    if (version === null) {
      if (chosen === undefined || registry.knows(plugin, chosen)) {
        throw new SwitchyardError(ErrorCode.PluginUnavailable, `No instance of "${plugin}" is available`);
      }
      const shown = chosen.length > ECHO_MAX ? `${chosen.slice(0, ECHO_MAX)}…` : chosen;
      throw new SwitchyardError(ErrorCode.NoMatchingVersion, `No version of "${plugin}" matches "${shown}"`);
    }
    const method = METHOD_NAME.test(methodName) ? version.methods.get(methodName) : undefined;
    if (method === undefined) throw methodNotFound(plugin, methodName);
    return { plugin, method, version, range: chosen, policies: this.policies.plugin(plugin).method(method.name) };
  }

  /**
   * Step 2: admission. Takes a token from the plugin's rate limit for `principal`.
   * @throws {SwitchyardError} `rate_limited` with `retryAfter`.
   */
  admit(target: Target, principal: string): void {
    const limiter = target.policies.plugin.rateLimiter;
    if (limiter === undefined) return;
    const waitMs = limiter.take(principal);
    if (waitMs > 0) throw limiter.rejection(waitMs);
  }

  /**
   * Step 3: sends the call and resolves with the reply, an error reply included (`reply.status`
   * and `reply.code` are read once); a configured fallback answers while the circuit is open.
   * @throws {SwitchyardError} `circuit_open`, `overloaded`, `draining`; a bus error
   * (`NoRespondersError`, `BusTimeoutError`, `RequestLostError`, `DisconnectedError`).
   */
  send(target: Target, call: Call): Promise<BusReply> {
    return sendWithRetries(this, target, call);
  }

  /**
   * Nobody listens on an instance's own subject any more: it is out of the registry (until it shows
   * up again: a reconnect announces it, a roll call or the recheck `onRemoved` asks for finds it),
   * and what waits on it fails at once.
   */
  instanceDead(instance: InstanceEntry, why: string): void {
    if (this.registry.remove(instance.plugin, instance.id) !== undefined) {
      this.logger.warn("instance gone: removed", { plugin: instance.plugin, version: instance.version, instance: instance.id, why });
      this.#onRemoved?.(instance);
    }
    this.instanceGone(instance, why);
  }

  /**
   * Step 3 for a streaming method: sends the call like {@linkcode RequestPipeline.send} (breaker,
   * bulkhead, pick, retries: all before the first item) and resolves once the stream's first
   * message is in, each attempt waiting at most `idleMs` for it. The returned stream pulls the rest.
   * A first message that is an error reply (`first.status`) ends it; so does the end of an empty stream.
   * @throws what {@linkcode RequestPipeline.send} throws.
   */
  async openStream(target: Target, call: Call, options: { idleMs: number; window?: number }): Promise<StreamCall> {
    const first = await sendWithRetries(this, target, { ...call, stream: true, attemptTimeoutMs: options.idleMs });
    return new StreamCall(this, { target, first, deadline: call.deadline, idleMs: options.idleMs, window: options.window });
  }

  /**
   * An instance is known to be gone (no responders, a `lost` or repeated `started` event): the
   * requests still waiting on it fail at once with {@linkcode RequestLostError} (retried when
   * idempotent) instead of each waiting for its deadline.
   * @returns how many failed.
   */
  instanceGone(instance: InstanceEntry, why: string): number {
    const base = `${instance.subjectBase}.`;
    const failed = this.mux.failWhere((p) => p.subject.startsWith(base), (p) => new RequestLostError(p.subject, why));
    if (failed > 0) this.logger.warn("failed the requests in flight to a gone instance", { plugin: instance.plugin, instance: instance.id, failed, why });
    return failed;
  }
}
