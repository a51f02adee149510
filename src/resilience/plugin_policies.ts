import type { Clock, Logger } from "../deps.ts";
import { systemClock, noopLogger } from "../deps.ts";
import { DEFAULT_STREAM_IDLE_MS, DEFAULT_STREAM_TIMEOUT_MS } from "./options.ts";
import type { PluginResilience, ResolvedResilience } from "./options.ts";
import { CircuitBreaker } from "./circuit_breaker.ts";
import type { BreakerSettings, CircuitState, CircuitTransition } from "./circuit_breaker.ts";
import { RetryPolicy } from "./retry.ts";
import { RetryBudget } from "./retry_budget.ts";
import { Bulkhead } from "./bulkhead.ts";
import { RateLimiter } from "./rate_limit.ts";

const encoder = new TextEncoder();

/** The policies of one method (shared with the plugin unless the config overrides them). */
export interface MethodPolicies {
  readonly plugin: PluginPolicies;
  readonly timeoutMs: number;
  /** A streaming method: no item for this long ends the stream. */
  readonly streamIdleMs: number;
  /** A streaming method: the deadline of the whole stream. */
  readonly streamTimeoutMs: number;
  readonly retry: RetryPolicy;
  /** `undefined` when the breaker is disabled. */
  readonly breaker: CircuitBreaker | undefined;
  /** The configured fallback as JSON bytes, answered with 200 while the circuit is open. */
  readonly fallback: Uint8Array | undefined;
}

/** What the policy registry needs from the outside. */
export interface PolicyDeps {
  clock?: Clock;
  logger?: Logger;
  /** In [0, 1), for backoff jitter. @default Math.random */
  random?: () => number;
  onStateChange?: (event: CircuitTransition) => void;
}

/** What the policies are built from: a slice of the config, replaced whole on a reload. */
export interface PolicySettings {
  /** The default deadline of a request (`router.timeoutMs`). */
  readonly timeoutMs: number;
  /** The default idle timeout of a stream (`router.streamIdleMs`). @default 30000 */
  readonly streamIdleMs?: number | undefined;
  /** The default deadline of a stream (`router.streamTimeoutMs`). @default 300000 */
  readonly streamTimeoutMs?: number | undefined;
  readonly resilience: ResolvedResilience;
  /** Per-plugin overrides (`plugins.<name>`); extra keys are ignored. */
  readonly plugins: Readonly<Record<string, PluginResilience>>;
}

/** `base` with the fields `over` sets (an override's missing fields inherit). */
function merge<T extends object>(base: T, over: { [K in keyof T]?: T[K] | undefined } | undefined): T {
  const out = { ...base };
  if (over !== undefined) {
    for (const key of Object.keys(over) as (keyof T)[]) {
      const value = over[key];
      if (value !== undefined) out[key] = value as T[keyof T];
    }
  }
  return out;
}

/** The settings each stateful part was built from, as JSON: a reload keeps a part whose key is unchanged. */
interface PartKeys {
  budget: string;
  breaker: string;
  bulkhead: string;
  rate: string;
  /** Per method with a breaker of its own. */
  methodBreakers: Map<string, string>;
}

/**
 * The policies of one plugin, built from the config and kept for the plugin's life. A config
 * reload builds a new one from the `previous`, which hands over each stateful part (breaker state,
 * rate-limit buckets, bulkhead slots, retry budget) whose settings did not change.
 */
export class PluginPolicies {
  readonly name: string;
  readonly budget: RetryBudget;
  readonly breaker: CircuitBreaker | undefined;
  readonly bulkhead: Bulkhead | undefined;
  readonly rateLimiter: RateLimiter | undefined;
  readonly #default: MethodPolicies;
  readonly #methods = new Map<string, MethodPolicies>();
  readonly #keys: PartKeys;

  constructor(
    name: string,
    defaults: ResolvedResilience,
    timeouts: Pick<PolicySettings, "timeoutMs" | "streamIdleMs" | "streamTimeoutMs">,
    plugin: PluginResilience | undefined,
    deps: PolicyDeps,
    previous?: PluginPolicies,
  ) {
    const clock = deps.clock ?? systemClock;
    const logger = deps.logger ?? noopLogger;
    this.name = name;
    const old = previous === undefined ? undefined : previous.#keys;
    const retry = merge(defaults.retry, plugin?.retry);
    const keys: PartKeys = {
      budget: JSON.stringify([retry.budgetRatio, retry.budgetMinConcurrent]),
      breaker: "",
      bulkhead: "",
      rate: "",
      methodBreakers: new Map(),
    };
    this.#keys = keys;
    this.budget = old?.budget === keys.budget ? previous!.budget : new RetryBudget(retry, clock);
    const breakerOf = (label: string, settings: BreakerSettings & { enabled: boolean }) =>
      settings.enabled
        ? new CircuitBreaker({
          name: label,
          settings,
          clock,
          logger,
          ...(deps.onStateChange === undefined ? {} : { onStateChange: deps.onStateChange }),
        })
        : undefined;
    const breakerSettings = merge(defaults.breaker, plugin?.breaker);
    keys.breaker = JSON.stringify(breakerSettings);
    this.breaker = old?.breaker === keys.breaker ? previous!.breaker : breakerOf(name, breakerSettings);
    const bulkhead = plugin?.bulkhead ?? defaults.bulkhead;
    keys.bulkhead = JSON.stringify(bulkhead ?? null);
    this.bulkhead = old?.bulkhead === keys.bulkhead
      ? previous!.bulkhead
      : bulkhead === undefined
      ? undefined
      : new Bulkhead(name, bulkhead, clock);
    const rate = plugin?.rateLimit ?? defaults.rateLimit;
    keys.rate = JSON.stringify(rate ?? null);
    this.rateLimiter = old?.rate === keys.rate
      ? previous!.rateLimiter
      : rate === undefined
      ? undefined
      : new RateLimiter(name, { rps: rate.rps, burst: rate.burst ?? Math.max(1, Math.ceil(rate.rps)) }, clock);
    const retryPolicy = (settings: typeof retry) =>
      new RetryPolicy({ settings, budget: this.budget, ...(deps.random === undefined ? {} : { random: deps.random }) });
    const pluginTimeout = plugin?.timeoutMs ?? timeouts.timeoutMs;
    const streamIdle = plugin?.streamIdleMs ?? timeouts.streamIdleMs ?? DEFAULT_STREAM_IDLE_MS;
    const streamTimeout = plugin?.streamTimeoutMs ?? timeouts.streamTimeoutMs ?? DEFAULT_STREAM_TIMEOUT_MS;
    this.#default = {
      plugin: this,
      timeoutMs: pluginTimeout,
      streamIdleMs: streamIdle,
      streamTimeoutMs: streamTimeout,
      retry: retryPolicy(retry),
      breaker: this.breaker,
      fallback: undefined,
    };
    for (const [method, m] of Object.entries(plugin?.methods ?? {})) {
      let breaker = this.breaker;
      if (m.breaker !== undefined) {
        const settings = merge(breakerSettings, m.breaker);
        const key = JSON.stringify(settings);
        keys.methodBreakers.set(method, key);
        breaker = old?.methodBreakers.get(method) === key
          ? previous!.#methods.get(method)?.breaker
          : breakerOf(`${name}.${method}`, settings);
      }
      this.#methods.set(method, {
        plugin: this,
        timeoutMs: m.timeoutMs ?? pluginTimeout,
        streamIdleMs: m.streamIdleMs ?? streamIdle,
        streamTimeoutMs: m.streamTimeoutMs ?? streamTimeout,
        retry: m.retry === undefined ? this.#default.retry : retryPolicy(merge(retry, m.retry)),
        breaker,
        fallback: m.fallback === undefined ? undefined : encoder.encode(JSON.stringify(m.fallback)),
      });
    }
  }

  /** The policies of `method`: its own where configured, else the plugin's. */
  method(method: string): MethodPolicies {
    return this.#methods.get(method) ?? this.#default;
  }

  /** For the catalog: breaker states (the plugin's, and each method's own), bulkhead and budget load. */
  describe(): {
    breaker?: { state: CircuitState; retryAfter?: number };
    methods?: Record<string, { state: CircuitState; retryAfter?: number }>;
    inflight: number;
    retrying: number;
    retryTokens: number;
    queued?: number;
  } {
    const methods: Record<string, { state: CircuitState; retryAfter?: number }> = {};
    let own = false;
    for (const [name, m] of this.#methods) {
      if (m.breaker !== undefined && m.breaker !== this.breaker) {
        methods[name] = m.breaker.describe();
        own = true;
      }
    }
    return {
      ...(this.breaker === undefined ? {} : { breaker: this.breaker.describe() }),
      ...(own ? { methods } : {}),
      inflight: this.budget.active,
      retrying: this.budget.retrying,
      retryTokens: this.budget.tokens,
      ...(this.bulkhead === undefined ? {} : { queued: this.bulkhead.queued }),
    };
  }
}

/**
 * Every plugin's policies, looked up by name (one Map get per request); a plugin's entry is
 * built on its first request and kept, so breaker state and buckets live across requests.
 */
export class ResiliencePolicies {
  #settings: PolicySettings;
  readonly #deps: PolicyDeps;
  readonly #plugins = new Map<string, PluginPolicies>();

  constructor(settings: PolicySettings, deps: PolicyDeps = {}) {
    this.#settings = settings;
    this.#deps = deps;
  }

  /** The policies of `plugin` (a registered name: the set of names is bounded by the registry). */
  plugin(plugin: string): PluginPolicies {
    let p = this.#plugins.get(plugin);
    if (p === undefined) {
      const settings = this.#settings;
      p = new PluginPolicies(plugin, settings.resilience, settings, settings.plugins[plugin], this.#deps);
      this.#plugins.set(plugin, p);
    }
    return p;
  }

  /** The policies of `plugin`, if any request has created them yet. */
  peek(plugin: string): PluginPolicies | undefined {
    return this.#plugins.get(plugin);
  }

  /**
   * Rebuilds every plugin's policies from new settings (a config reload). Parts whose settings are
   * unchanged carry over with their state; requests already running finish on the old parts.
   */
  reconfigure(settings: PolicySettings): void {
    this.#settings = settings;
    for (const [name, previous] of this.#plugins) {
      this.#plugins.set(name, new PluginPolicies(name, settings.resilience, settings, settings.plugins[name], this.#deps, previous));
    }
  }
}
