import type { Msg } from "@nats-io/nats-core";
import type { Clock, Logger } from "../deps.ts";
import { ErrorCode, isSwitchyardError, SwitchyardError } from "../errors.ts";
import { H_SERVICE_ERROR_CODE } from "../bus/mod.ts";
import type { MuxRequestOptions, RequestMux } from "../bus/mod.ts";
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
  readonly #balancers = new Map<string, Balancer>();
  readonly #default: Balancer;
  readonly #outliers: OutlierDetector;
  readonly #ctx: BalanceContext;

  constructor(options: LoadBalancerOptions) {
    this.#mux = options.mux;
    this.#clock = options.clock;
    this.#logger = options.logger;
    const { slowStartMs } = options.balancing;
    this.#default = createBalancer(options.balancing.balancer, { slowStartMs });
    for (const [plugin, p] of Object.entries(options.plugins)) {
      if (p.balancer !== undefined || p.weights !== undefined) {
        this.#balancers.set(plugin, createBalancer(p.balancer ?? options.balancing.balancer, { slowStartMs, weights: p.weights }));
      }
    }
    this.#outliers = new OutlierDetector(options.balancing.outlier);
    this.#ctx = { now: 0, random: options.random ?? Math.random };
  }

  /** The strategy serving `plugin`. */
  balancerFor(plugin: string): Balancer {
    return this.#balancers.get(plugin) ?? this.#default;
  }

  /**
   * Requests `method` of `version` and resolves with the reply (error replies included).
   * @throws {SwitchyardError} `plugin_unavailable` (none available or listening), `timeout`.
   */
  async request(plugin: string, version: VersionEntry, method: MethodEntry, body: Uint8Array, options: BalancedRequestOptions): Promise<Msg> {
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
      if (isSwitchyardError(err) && err.code === ErrorCode.PluginUnavailable) {
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
