import type { InstanceEntry, PluginEntry, Registry } from "../registry/mod.ts";
import type { RequestPipeline } from "../pipeline/mod.ts";
import type { SpanRing, TraceSummary } from "../telemetry/mod.ts";
import type { RouterLifecycle } from "./router_lifecycle.ts";
import { DashboardStats, LIVE_SECONDS, SERIES_SECONDS } from "./dashboard_stats.ts";
import type { ErrorEntry, InstanceStats } from "./dashboard_stats.ts";

/** How long an instance that left the registry shows as `lost`. */
export const LOST_SHOWN_MS = 60_000;
/** Lost instances shown at most. */
const LOST_KEPT = 200;
/** Traces in each list of the snapshot. */
const TRACES_LISTED = 15;

/** An instance's state on the dashboard. */
export type InstanceState = "serving" | "draining" | "ejected" | "lost";

/** What the dashboard shows of one instance. */
export interface InstanceView {
  id: string;
  runtime: string;
  host: string;
  health: string;
  state: InstanceState;
  /** Dispatched by this router and not settled. */
  inFlight: number;
  rps: number;
  p50Ms: number;
  p99Ms: number;
  requests: number;
  errors: number;
  ejections: number;
}

/** What the dashboard shows of one plugin. */
export interface PluginView {
  name: string;
  /** `draining`: drained at this router (`/admin` or the dashboard); `unavailable`: no instance. */
  state: "serving" | "draining" | "unavailable";
  inFlight: number;
  balancer: string;
  rps: number;
  p50Ms: number;
  p99Ms: number;
  requests: number;
  errors: number;
  breaker: { state: string; retryAfter?: number } | null;
  methodBreakers: Record<string, { state: string; retryAfter?: number }>;
  retryBudget: { retrying: number; limit: number; tokens: number; maxTokens: number } | null;
  bulkhead: { running: number; queued: number; maxConcurrent: number; maxQueue: number } | null;
  rejections: { rateLimited: number; overloaded: number; circuitOpen: number };
  canary: {
    rule: string | null;
    configured: Record<string, number> | null;
    observed: Record<string, number>;
  };
  /** Per second, oldest first, the last five minutes. */
  series: { rps: number[]; p99Ms: number[]; errors: number[] };
  versions: { version: string; instances: InstanceView[] }[];
}

/** What `GET /dashboard/events` sends every second. */
export interface DashboardSnapshot {
  at: number;
  router: {
    inFlight: number;
    shuttingDown: boolean;
    traces: { capacity: number; size: number; evicted: number } | null;
    actions: { drain: boolean; reload: boolean; token: boolean };
  };
  plugins: PluginView[];
  errors: ErrorEntry[];
  traces: { recent: TraceSummary[]; slowest: TraceSummary[] };
}

/** The parts a {@linkcode DashboardView} reads. */
export interface DashboardViewParts {
  pipeline: RequestPipeline;
  lifecycle: RouterLifecycle;
  spans: SpanRing | undefined;
  /** Which actions the page may offer now (config is read per snapshot). */
  actions: () => DashboardSnapshot["router"]["actions"];
}

interface Lost {
  instance: InstanceEntry;
  lostAt: number;
}

/**
 * Builds the dashboard's snapshot from the router's live state: the registry's plugins, versions
 * and instances with their counters, each plugin's policies and drain state, and the counts the
 * router recorded ({@linkcode DashboardStats}). Instances that left the registry show as `lost`
 * for a minute.
 */
export class DashboardView {
  readonly stats: DashboardStats;
  readonly #parts: DashboardViewParts;
  readonly #registry: Registry;
  /** Instances seen in the last snapshot, by `plugin/id`. */
  #seen = new Map<string, InstanceEntry>();
  readonly #lost = new Map<string, Lost>();

  constructor(parts: DashboardViewParts) {
    this.#parts = parts;
    this.#registry = parts.pipeline.registry;
    this.stats = new DashboardStats((name) => this.#registry.get(name) !== undefined);
  }

  /** The dashboard's state now. */
  snapshot(now: number): DashboardSnapshot {
    this.#trackLost(now);
    this.stats.prune((plugin, id) => this.#registry.instance(plugin, id) !== undefined, now, LOST_SHOWN_MS);
    const { lifecycle, spans } = this.#parts;
    const names = new Set([...this.#registry.plugins()].map((p) => p.name));
    for (const { instance } of this.#lost.values()) names.add(instance.plugin);
    return {
      at: now,
      router: {
        inFlight: lifecycle.tracker.total,
        shuttingDown: lifecycle.shuttingDown,
        traces: spans === undefined
          ? null
          : { capacity: spans.capacity, size: spans.size, evicted: spans.evicted },
        actions: this.#parts.actions(),
      },
      plugins: [...names].sort().map((name) => this.#plugin(name, now)),
      errors: this.stats.errors(),
      traces: spans === undefined ? { recent: [], slowest: [] } : listTraces(spans),
    };
  }

  #plugin(name: string, now: number): PluginView {
    const { pipeline, lifecycle } = this.#parts;
    const entry: PluginEntry | undefined = this.#registry.get(name);
    const stats = this.stats.plugin(name);
    const second = Math.floor(now / 1000);
    const live = stats?.window.summary(second, LIVE_SECONDS);
    const policies = pipeline.policies.peek(name);
    const described = policies?.describe();
    const budget = policies?.budget;
    const bulkhead = policies?.bulkhead;
    const rule = pipeline.settings.plugins[name];
    const series = stats?.window.series(second, SERIES_SECONDS) ??
      new Array(SERIES_SECONDS).fill({ count: 0, errors: 0, p50Ms: 0, p99Ms: 0 });
    const traffic = lifecycle.describe(name);
    const versions = new Map<string, InstanceView[]>();
    for (const v of entry?.versions.values() ?? []) {
      versions.set(
        v.version,
        [...v.instances.values()].map((i) =>
          instanceView(
            i,
            i.draining ? "draining" : i.ejectedUntil > now ? "ejected" : "serving",
            stats?.instances.get(i.id),
            second,
          )
        ),
      );
    }
    for (const { instance } of this.#lost.values()) {
      if (instance.plugin !== name) continue;
      const list = versions.get(instance.version) ?? [];
      list.push(instanceView(instance, "lost", stats?.instances.get(instance.id), second));
      versions.set(instance.version, list);
    }
    const available = [...entry?.versions.values() ?? []].some((v) => v.live.length > 0);
    return {
      name,
      state: traffic.draining ? "draining" : available ? "serving" : "unavailable",
      inFlight: traffic.inFlight,
      balancer: pipeline.balancing.balancerFor(name).name,
      rps: round((live?.count ?? 0) / LIVE_SECONDS),
      p50Ms: live?.p50Ms ?? 0,
      p99Ms: live?.p99Ms ?? 0,
      requests: stats?.requests ?? 0,
      errors: stats?.errors ?? 0,
      breaker: described?.breaker ?? null,
      methodBreakers: described?.methods ?? {},
      retryBudget: budget === undefined ? null : {
        retrying: budget.retrying,
        limit: Math.max(
          budget.settings.budgetMinConcurrent,
          Math.floor(budget.settings.budgetRatio * budget.active),
        ),
        tokens: budget.tokens,
        maxTokens: Math.max(1, budget.settings.budgetMinConcurrent),
      },
      bulkhead: bulkhead === undefined ? null : {
        running: bulkhead.running,
        queued: bulkhead.queued,
        maxConcurrent: bulkhead.settings.maxConcurrent,
        maxQueue: bulkhead.settings.maxQueue,
      },
      rejections: {
        rateLimited: stats?.rateLimited ?? 0,
        overloaded: stats?.overloaded ?? 0,
        circuitOpen: stats?.circuitOpen ?? 0,
      },
      canary: {
        rule: rule?.version ?? null,
        configured: rule?.canary === undefined ? null : { ...rule.canary },
        observed: this.stats.split(name, now),
      },
      series: {
        rps: series.map((s) => s.count),
        p99Ms: series.map((s) => s.p99Ms),
        errors: series.map((s) => s.errors),
      },
      versions: [...versions].sort(([a], [b]) => a.localeCompare(b)).map(([version, instances]) => ({
        version,
        instances,
      })),
    };
  }

  /** Instances that were in the registry at the last snapshot and are not now become `lost`. */
  #trackLost(now: number): void {
    const seen = new Map<string, InstanceEntry>();
    for (const p of this.#registry.plugins()) {
      for (const v of p.versions.values()) {
        for (const i of v.instances.values()) seen.set(`${i.plugin}/${i.id}`, i);
      }
    }
    for (const [key, instance] of this.#seen) {
      if (!seen.has(key) && !this.#lost.has(key)) this.#lost.set(key, { instance, lostAt: now });
    }
    for (const [key, lost] of this.#lost) {
      if (seen.has(key) || now - lost.lostAt > LOST_SHOWN_MS) this.#lost.delete(key);
    }
    while (this.#lost.size > LOST_KEPT) this.#lost.delete(this.#lost.keys().next().value!);
    this.#seen = seen;
  }
}

function instanceView(
  i: InstanceEntry,
  state: InstanceState,
  stats: InstanceStats | undefined,
  second: number,
): InstanceView {
  const live = stats?.window.summary(second, LIVE_SECONDS);
  return {
    id: i.id,
    runtime: i.runtime,
    host: i.host,
    health: i.health,
    state,
    inFlight: state === "lost" ? 0 : i.pending,
    rps: round((live?.count ?? 0) / LIVE_SECONDS),
    p50Ms: live?.p50Ms ?? 0,
    p99Ms: live?.p99Ms ?? 0,
    requests: stats?.requests ?? 0,
    errors: stats?.errors ?? 0,
    ejections: i.ejections,
  };
}

/** The recent and the slowest traces, from one pass over the ring (it holds up to 1,000,000 spans). */
function listTraces(spans: SpanRing): DashboardSnapshot["traces"] {
  const all = spans.summaries();
  const top = (by: (t: TraceSummary) => number) =>
    [...all].sort((a, b) => by(b) - by(a)).slice(0, TRACES_LISTED);
  return { recent: top((t) => t.startMs), slowest: top((t) => t.durationMs) };
}

function round(n: number): number {
  return Math.round(n * 100) / 100;
}
