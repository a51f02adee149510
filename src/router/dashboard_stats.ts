import { SecondWindow } from "./dashboard_window.ts";

/** One answered `POST /v1/<plugin>/<method>`, as the dashboard records it. */
export interface Answer {
  plugin: string;
  method: string;
  status: number;
  /** The error code (`""` on success). */
  code: string;
  ms: number;
  /** Who served (`x-plugin-instance`), `""` when no instance answered. */
  instance: string;
  /** The version that served (`x-plugin-version`), `""` when none did. */
  version: string;
  requestId: string;
  /** `""` when the router keeps no traces. */
  traceId: string;
}

/** A failed request, for the list of recent errors. */
export interface ErrorEntry {
  at: number;
  plugin: string;
  method: string;
  status: number;
  code: string;
  requestId: string;
  traceId: string;
  instance: string;
}

/** Seconds of history per plugin: the time series shown. */
export const SERIES_SECONDS = 300;
/** Seconds the live numbers (requests per second, quantiles) are taken over. */
export const LIVE_SECONDS = 10;
/** Seconds the observed canary split is counted over. */
const SPLIT_SECONDS = 60;
/** Recent errors kept. */
export const ERRORS_KEPT = 100;
/** Versions counted per plugin for the canary split; more are folded away. */
const MAX_VERSIONS = 32;

/** What the router saw of one plugin. */
export class PluginStats {
  readonly window = new SecondWindow(SERIES_SECONDS);
  requests = 0;
  /** 5xx answers. */
  errors = 0;
  rateLimited = 0;
  /** Bulkhead full (`overloaded`). */
  overloaded = 0;
  circuitOpen = 0;
  readonly versions = new Map<string, SecondWindow>();
  readonly instances = new Map<string, InstanceStats>();
}

/** What the router saw of one instance. */
export class InstanceStats {
  readonly window = new SecondWindow(LIVE_SECONDS);
  requests = 0;
  errors = 0;
  /** When it last served, ms since the epoch. */
  lastAt = 0;
}

/**
 * The dashboard's counts: per plugin (a five-minute series) and per instance (the last seconds),
 * the observed version split, rejections by cause, and the last errors. Entries exist only for
 * plugins the registry knows and instances that answered, and {@linkcode DashboardStats.prune}
 * drops those gone, so memory follows the deployment, not the traffic.
 */
export class DashboardStats {
  readonly #plugins = new Map<string, PluginStats>();
  readonly #errors: ErrorEntry[] = [];
  readonly #known: (plugin: string) => boolean;

  /** @param known whether the registry knows a plugin: only those get counts. */
  constructor(known: (plugin: string) => boolean) {
    this.#known = known;
  }

  /** Records one answer at `now` (ms since the epoch). */
  record(answer: Answer, now: number): void {
    if (answer.status >= 400) this.#error(answer, now);
    if (!this.#known(answer.plugin)) return;
    let p = this.#plugins.get(answer.plugin);
    if (p === undefined) {
      p = new PluginStats();
      this.#plugins.set(answer.plugin, p);
    }
    const second = Math.floor(now / 1000);
    const failed = answer.status >= 500;
    p.requests++;
    if (failed) p.errors++;
    if (answer.code === "rate_limited") p.rateLimited++;
    else if (answer.code === "overloaded") p.overloaded++;
    else if (answer.code === "circuit_open") p.circuitOpen++;
    p.window.add(second, answer.ms, failed);
    if (answer.version !== "") {
      let v = p.versions.get(answer.version);
      if (v === undefined && p.versions.size < MAX_VERSIONS) {
        p.versions.set(answer.version, v = new SecondWindow(SPLIT_SECONDS, false));
      }
      v?.add(second, answer.ms, failed);
    }
    if (answer.instance !== "") {
      let i = p.instances.get(answer.instance);
      if (i === undefined) p.instances.set(answer.instance, i = new InstanceStats());
      i.requests++;
      if (failed) i.errors++;
      i.lastAt = now;
      i.window.add(second, answer.ms, failed);
    }
  }

  plugin(name: string): PluginStats | undefined {
    return this.#plugins.get(name);
  }

  /** The last errors, newest first. */
  errors(): ErrorEntry[] {
    return [...this.#errors].reverse();
  }

  /** The share of each version's requests over the last minute (versions with none left out). */
  split(plugin: string, now: number): Record<string, number> {
    const versions = this.#plugins.get(plugin)?.versions;
    const counts = [...versions ?? []].map(([v, w]) => [v, w.summary(Math.floor(now / 1000)).count] as const)
      .filter(([, n]) => n > 0);
    const total = counts.reduce((sum, [, n]) => sum + n, 0);
    return Object.fromEntries(counts.map(([v, n]) => [v, Math.round((n / total) * 1000) / 1000]));
  }

  /**
   * Forgets plugins the registry no longer knows (and whose series is empty), and instances that
   * are neither `live` nor served in the last `keepMs`.
   */
  prune(live: (plugin: string, instance: string) => boolean, now: number, keepMs: number): void {
    const second = Math.floor(now / 1000);
    for (const [name, p] of this.#plugins) {
      for (const [id, i] of p.instances) {
        if (!live(name, id) && now - i.lastAt > keepMs) p.instances.delete(id);
      }
      for (const [v, w] of p.versions) if (w.summary(second).count === 0) p.versions.delete(v);
      if (!this.#known(name) && p.window.summary(second).count === 0) this.#plugins.delete(name);
    }
  }

  #error(answer: Answer, now: number): void {
    if (this.#errors.length >= ERRORS_KEPT) this.#errors.shift();
    this.#errors.push({
      at: now,
      // Unknown names come from clients: cut, so the list stays small.
      plugin: answer.plugin.slice(0, 64),
      method: answer.method.slice(0, 64),
      status: answer.status,
      code: answer.code.slice(0, 64),
      requestId: answer.requestId,
      traceId: answer.traceId,
      instance: answer.instance,
    });
  }
}
