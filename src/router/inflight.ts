/** The traffic of one plugin through one router. */
export class PluginTraffic {
  readonly name: string;
  /** Requests to this plugin inside the router now: from routing until the response is built (a stream's last byte). */
  inflight = 0;
  /** Set by a plugin drain: new requests to the plugin get 503 `draining`. */
  draining = false;
  /** @internal resolved when `inflight` drops to 0. */
  idle: (() => void)[] = [];

  constructor(name: string) {
    this.name = name;
  }
}

/**
 * Counts the requests in flight through the router, per plugin and in all. The request path pays
 * one map lookup and two increments (and two decrements); waiting for zero costs nothing until
 * someone waits.
 */
export class InflightTracker {
  readonly #plugins = new Map<string, PluginTraffic>();
  readonly #known: (plugin: string) => boolean;
  #total = 0;
  #idle: (() => void)[] = [];

  /**
   * @param known whether a plugin name is registered: only those get an entry, so the map stays
   *   bounded by the registry however many random names clients send.
   */
  constructor(known: (plugin: string) => boolean) {
    this.#known = known;
  }

  /** Requests in flight to every plugin. */
  get total(): number {
    return this.#total;
  }

  /** The entry of `plugin`, made on first use; `undefined` for a name nobody registered. */
  traffic(plugin: string): PluginTraffic | undefined {
    let t = this.#plugins.get(plugin);
    if (t === undefined && this.#known(plugin)) {
      t = new PluginTraffic(plugin);
      this.#plugins.set(plugin, t);
    }
    return t;
  }

  /** Every plugin entry made so far. */
  entries(): IterableIterator<PluginTraffic> {
    return this.#plugins.values();
  }

  /** A request to `t`'s plugin starts. */
  enter(t: PluginTraffic): void {
    t.inflight++;
    this.#total++;
  }

  /** A request to `t`'s plugin is done. */
  leave(t: PluginTraffic): void {
    if (--t.inflight === 0 && t.idle.length > 0) release(t.idle.splice(0));
    if (--this.#total === 0 && this.#idle.length > 0) release(this.#idle.splice(0));
  }

  /** Resolves once nothing is in flight to `t`'s plugin (to any plugin without `t`). */
  whenIdle(t?: PluginTraffic): Promise<void> {
    if ((t === undefined ? this.#total : t.inflight) === 0) return Promise.resolve();
    return new Promise((resolve) => (t === undefined ? this.#idle : t.idle).push(resolve));
  }

  /** Counts for the catalog and the admin API. */
  snapshot(): { total: number; plugins: Record<string, { inFlight: number; draining: boolean }> } {
    const plugins: Record<string, { inFlight: number; draining: boolean }> = {};
    for (const t of this.#plugins.values()) plugins[t.name] = { inFlight: t.inflight, draining: t.draining };
    return { total: this.#total, plugins };
  }
}

function release(waiters: (() => void)[]): void {
  for (const resolve of waiters) resolve();
}
