import type { Clock, Logger } from "../deps.ts";
import { ErrorCode, isSwitchyardError, SwitchyardError } from "../errors.ts";
import { H_SERVICE_ERROR_CODE, isRequestLost } from "../bus/mod.ts";
import type { BusReply, MuxRequestOptions, RequestMux } from "../bus/mod.ts";
import type { InstanceEntry, MethodEntry, VersionEntry } from "../registry/mod.ts";
import { createLatencyBalancer, recordLatency } from "./latency.ts";
import { createLeastPendingBalancer } from "./least_pending.ts";
import { OutlierDetector } from "./outlier.ts";
import { createQueueBalancer } from "./queue.ts";
import { createRoundRobinBalancer } from "./round_robin.ts";
import { createWeightedBalancer } from "./weighted.ts";
import type { ResolvedBalancingOptions } from "./options.ts";
import type { BalanceContext, Balancer, BalancerName } from "./types.ts";

/** Per-plugin balancing settings (from `plugins.<name>`). */
export interface PluginBalancing {
  balancer?: BalancerName | undefined;
  weights?: Readonly<Record<string, number>> | undefined;
}

/** Told where an attempt goes and what happened to its instance (tracing); optional. */
export interface BalanceObserver {
  /** The attempt goes to `subject`: an instance's own, or the queue group's (`instance` undefined). */
  picked(instance: string | undefined, subject: string): void;
  /** The picked instance was ejected as an outlier for `forMs`. */
  ejected(instance: string, reason: string, forMs: number): void;
  /** The picked instance had no responders: the attempt was resent to the queue group. */
  resent(subject: string): void;
}

/** Options of one {@linkcode LoadBalancer.request}. */
export interface BalancedRequestOptions extends MuxRequestOptions {
  observer?: BalanceObserver | undefined;
}

/** Options of {@linkcode LoadBalancer}. */
export interface LoadBalancerOptions {
  mux: RequestMux;
  balancing: ResolvedBalancingOptions;
  plugins: Readonly<Record<string, PluginBalancing>>;
  clock: Clock;
  logger: Logger;
  /** @default Math.random */
  random?: () => number;
}

/** Creates the named strategy. */
export function createBalancer(
  name: BalancerName,
  options: { slowStartMs?: number; weights?: Readonly<Record<string, number>> | undefined } = {},
): Balancer {
  switch (name) {
    case "queue":
      return createQueueBalancer();
    case "round-robin":
      return createRoundRobinBalancer();
    case "weighted":
      return createWeightedBalancer(options.weights === undefined ? {} : { weights: options.weights });
    case "least-pending":
      return createLeastPendingBalancer(options.slowStartMs === undefined ? {} : { slowStartMs: options.slowStartMs });
    case "latency":
      return createLatencyBalancer();
  }
}

/**
 * Sends one request to one version: the plugin's balancer picks an instance (addressed on its own
 * subject) or leaves it to the NATS queue group. Keeps `pending`, latency EWMA and outlier state
 * on the instance entries. When a picked instance has no responders (it died), the request goes
 * once more, to the queue subject, so a crash costs at most the requests it had in flight.
 */
export class LoadBalancer {
  readonly #mux: RequestMux;
  readonly #clock: Clock;
  readonly #logger: Logger;
  #balancers = new Map<string, Balancer>();
  #default: Balancer;
  #outliers: OutlierDetector;
  readonly #ctx: BalanceContext;
  /** The settings each strategy was built from, as JSON, so a reload keeps unchanged ones (and their state). */
  #keys = new Map<string, string>();
  #defaultKey = "";
  #outlierKey = "";

  constructor(options: LoadBalancerOptions) {
    this.#mux = options.mux;
    this.#clock = options.clock;
    this.#logger = options.logger;
    this.#default = createBalancer(options.balancing.balancer, { slowStartMs: options.balancing.slowStartMs });
    this.#outliers = new OutlierDetector(options.balancing.outlier);
    this.#ctx = { now: 0, random: options.random ?? Math.random };
    this.reconfigure(options.balancing, options.plugins);
  }

  /**
   * Applies new balancing settings (a config reload). A strategy whose settings did not change is
   * kept, with its state (a round-robin position); per-instance state (pending, latency, ejections)
   * lives on the registry's entries and is never reset.
   */
  reconfigure(balancing: ResolvedBalancingOptions, plugins: Readonly<Record<string, PluginBalancing>>): void {
    const { slowStartMs } = balancing;
    const defaultKey = JSON.stringify([balancing.balancer, slowStartMs]);
    if (defaultKey !== this.#defaultKey) {
      this.#default = createBalancer(balancing.balancer, { slowStartMs });
      this.#defaultKey = defaultKey;
    }
    const outlierKey = JSON.stringify(balancing.outlier);
    if (outlierKey !== this.#outlierKey) {
      this.#outliers = new OutlierDetector(balancing.outlier);
      this.#outlierKey = outlierKey;
    }
    const balancers = new Map<string, Balancer>();
    const keys = new Map<string, string>();
    for (const [plugin, p] of Object.entries(plugins)) {
      if (p.balancer === undefined && p.weights === undefined) continue;
      const name = p.balancer ?? balancing.balancer;
      const key = JSON.stringify([name, slowStartMs, p.weights ?? null]);
      const kept = this.#keys.get(plugin) === key ? this.#balancers.get(plugin) : undefined;
      balancers.set(plugin, kept ?? createBalancer(name, { slowStartMs, weights: p.weights }));
      keys.set(plugin, key);
    }
    this.#balancers = balancers;
    this.#keys = keys;
  }

  /** The strategy serving `plugin`. */
  balancerFor(plugin: string): Balancer {
    return this.#balancers.get(plugin) ?? this.#default;
  }

  /**
   * Requests `method` of `version` and resolves with the reply (error replies included).
   * @throws {SwitchyardError} `plugin_unavailable` (none available or listening), `timeout`.
   */
  async request(plugin: string, version: VersionEntry, method: MethodEntry, body: Uint8Array, options: BalancedRequestOptions): Promise<BusReply> {
    const ctx = this.#ctx;
    const now = ctx.now = this.#clock.now();
    const instance = this.balancerFor(plugin).pick(version.live, ctx);
    if (instance === undefined) {
      if (allUnhealthy(version.live)) {
        throw new SwitchyardError(ErrorCode.PluginUnavailable, `Every instance of "${plugin}@${version.version}" reports unhealthy`);
      }
      options.observer?.picked(undefined, method.subject);
      return this.#mux.request(method.subject, body, options);
    }
    let subject = instance.subjects.get(method.name);
    if (subject === undefined) {
      subject = `${instance.subjectBase}.${method.name}`;
      instance.subjects.set(method.name, subject);
    }
    options.observer?.picked(instance.id, subject);
    instance.pending++;
    try {
      const reply = await this.#mux.request(subject, body, options);
      const settled = this.#clock.now();
      recordLatency(instance, settled - now);
      const status = reply.headers?.get(H_SERVICE_ERROR_CODE);
      if (status !== undefined && status !== "" && Number(status) >= 500) this.#failed(plugin, instance, version, settled, false, options.observer);
      else this.#outliers.success(instance);
      return reply;
    } catch (err) {
      const settled = this.#clock.now();
      // Aborted by a drain: says nothing about the instance.
      if (isSwitchyardError(err) && err.code === ErrorCode.Draining) throw err;
      // No responders: nobody got it, so it goes once more to the queue. A request lost with its
      // instance (it died) may have run: it fails instead.
      if (isSwitchyardError(err) && err.code === ErrorCode.PluginUnavailable && !isRequestLost(err)) {
        this.#failed(plugin, instance, version, settled, true, options.observer);
        options.observer?.resent(method.subject);
        return this.#mux.request(method.subject, body, options);
      }
      recordLatency(instance, settled - now);
      this.#failed(plugin, instance, version, settled, false, options.observer);
      throw err;
    } finally {
      instance.pending--;
    }
  }

  #failed(plugin: string, instance: InstanceEntry, version: VersionEntry, now: number, gone: boolean, observer: BalanceObserver | undefined): void {
    if (this.#outliers.failure(instance, version.live, now, gone)) {
      const reason = gone ? "no responders" : "consecutive failures";
      this.#logger.warn("instance ejected", {
        plugin,
        version: version.version,
        instance: instance.id,
        ejections: instance.ejections,
        forMs: instance.ejectedUntil - now,
        reason,
      });
      observer?.ejected(instance.id, reason, instance.ejectedUntil - now);
    }
  }
}

function allUnhealthy(instances: readonly InstanceEntry[]): boolean {
  if (instances.length === 0) return false;
  for (let i = 0; i < instances.length; i++) if (instances[i]!.health !== "unhealthy") return false;
  return true;
}
