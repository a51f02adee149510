import client from "prom-client";
import { StreamSeries, streamDurationHistogram } from "./stream_metrics.ts";
/** A circuit breaker's state, as the breakers report it. */
type CircuitState = "closed" | "open" | "half_open";

/** Label value for names the registry does not know, so scans of random paths add no series. */
export const UNKNOWN_LABEL = "_unknown";

/** Latency buckets in seconds, from 100 µs to 30 s. */
export const LATENCY_BUCKETS_SECONDS: readonly number[] = [
  0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30,
];

/** Default metrics of prom-client that are gauges with a `_total` suffix (not exposed). */
const GAUGES_NAMED_LIKE_COUNTERS = ["nodejs_active_handles_total", "nodejs_active_requests_total", "nodejs_active_resources_total"] as const;

/** Breaker states as metric values. */
export const BREAKER_STATE_VALUE: Readonly<Record<CircuitState, number>> = { closed: 0, open: 1, half_open: 2 };

/**
 * What one plugin's requests did, as plain counters. The request path only adds to numbers here;
 * prom-client reads them when `/metrics` is scraped.
 */
export class PluginSeries {
  readonly name: string;
  /** Requests routed to this plugin and not answered yet. */
  inflight = 0;
  /** Streaming responses being written now. */
  openStreams = 0;
  retries = 0;
  retryBudgetExhausted = 0;
  rateLimited = 0;
  /** Replies in chunks cut short after their status line went out (the instance died, a timeout, a drain). */
  bodiesCut = 0;
  readonly methods = new Map<string, MethodSeries>();
  /** Requests to a method this plugin does not have (or before a method was resolved). */
  readonly unknownMethod: MethodSeries;

  constructor(name: string) {
    this.name = name;
    this.unknownMethod = new MethodSeries(this, UNKNOWN_LABEL, false);
  }

  /** As a retry observer (when tracing is off): counts retries. */
  retrying(): void {
    this.retries++;
  }

  /** As a retry observer: counts retries the budget refused. */
  retryRefused(reason: string): void {
    if (reason === "budget") this.retryBudgetExhausted++;
  }
}

/** Counts by status and a latency histogram of one plugin method. */
export class MethodSeries {
  readonly plugin: PluginSeries;
  readonly method: string;
  /** True for a resolved method: its requests count as in flight. */
  readonly routed: boolean;
  /** Per bucket of {@linkcode LATENCY_BUCKETS_SECONDS}, then one for slower requests (not cumulative). */
  readonly buckets = new Float64Array(LATENCY_BUCKETS_SECONDS.length + 1);
  count = 0;
  sum = 0;
  /** 200s are most requests: a field, not a map entry. */
  ok = 0;
  readonly byStatus = new Map<number, number>();
  /** What the method's streams sent; made by its first stream. */
  stream: StreamSeries | undefined;

  constructor(plugin: PluginSeries, method: string, routed: boolean) {
    this.plugin = plugin;
    this.method = method;
    this.routed = routed;
  }

  /** One answered request. */
  record(status: number, seconds: number): void {
    this.count++;
    this.sum += seconds;
    const bounds = LATENCY_BUCKETS_SECONDS;
    let i = 0;
    while (i < bounds.length && seconds > bounds[i]!) i++;
    this.buckets[i]!++;
    if (status === 200) this.ok++;
    else this.byStatus.set(status, (this.byStatus.get(status) ?? 0) + 1);
  }

  /** The method's stream counters, made on first use (unary methods have none). */
  streams(): StreamSeries {
    return this.stream ??= new StreamSeries();
  }
}

/** State read at scrape time from the parts that own it. */
export interface MetricSources {
  /** Breaker states: the plugin's (`method` ""), and each method's own. */
  breakers?: () => Iterable<{ plugin: string; method: string; state: CircuitState }>;
  /** Instances now ejected as outliers, by plugin. */
  ejected?: () => Iterable<{ plugin: string; count: number }>;
}

/** Options of {@linkcode createRouterMetrics}. */
export interface RouterMetricsOptions {
  /** Process, heap, GC and event-loop metrics (prom-client's default set). @default true */
  processMetrics?: boolean;
  sources?: MetricSources;
  /** The runtime name shown in `switchyard_runtime_info`. */
  runtime?: string;
}

/** The router's metrics: series the request path adds to, and their Prometheus exposition. */
export interface RouterMetrics {
  /** The series of a registered plugin method (both names must come from the registry). */
  series(plugin: string, method: string): MethodSeries;
  /** The series of a request that was not routed: `plugin` if the registry knows it, else `_unknown`. */
  unrouted(plugin: string | undefined): MethodSeries;
  natsConnected(connected: boolean): void;
  natsReconnect(): void;
  /** Prometheus text exposition (format 0.0.4). */
  render(): Promise<string>;
  readonly contentType: string;
}

/**
 * Router metrics in a prom-client registry of their own (no global state). prom-client formats
 * the exposition, but the request path never calls it: a bound prom-client child still hashes its
 * labels on every `inc`/`observe` (about 0.5 µs and 1.1 µs measured), so requests add to the plain
 * {@linkcode MethodSeries} counters (tens of ns) and the registry's collectors read them on scrape.
 */
export function createRouterMetrics(options: RouterMetricsOptions = {}): RouterMetrics {
  const register = new client.Registry();
  if (options.processMetrics ?? true) {
    client.collectDefaultMetrics({ register, prefix: "switchyard_" });
    // prom-client's set names three gauges like counters, which `promtool check metrics` rejects;
    // each is the sum of its family by type, e.g. `sum(switchyard_nodejs_active_handles)`.
    for (const name of GAUGES_NAMED_LIKE_COUNTERS) register.removeSingleMetric(`switchyard_${name}`);
  }
  const plugins = new Map<string, PluginSeries>();
  const unknown = new PluginSeries(UNKNOWN_LABEL);
  // The fold target exists from the start, so the first scan adds no series either.
  plugins.set(UNKNOWN_LABEL, unknown);
  unknown.unknownMethod.byStatus.set(404, 0);
  const pluginSeries = (name: string): PluginSeries => {
    let p = plugins.get(name);
    if (p === undefined) {
      p = new PluginSeries(name);
      plugins.set(name, p);
    }
    return p;
  };
  const eachMethod = function* (): Generator<MethodSeries> {
    for (const p of plugins.values()) {
      if (p.unknownMethod.count > 0 || p === unknown) yield p.unknownMethod;
      yield* p.methods.values();
    }
  };
  const sources = options.sources ?? {};

  new client.Counter({
    name: "switchyard_requests_total",
    help: "Requests to plugin methods (POST /v1/<plugin>/<method>) by plugin, method and HTTP status code",
    labelNames: ["plugin", "method", "code"] as const,
    registers: [register],
    collect() {
      this.reset();
      for (const m of eachMethod()) {
        const labels = { plugin: m.plugin.name, method: m.method };
        if (m.ok > 0) this.inc({ ...labels, code: "200" }, m.ok);
        for (const [status, n] of m.byStatus) this.inc({ ...labels, code: String(status) }, n);
      }
    },
  });
  register.registerMetric(latencyHistogram(eachMethod) as unknown as client.Metric);
  const perPlugin = (name: string, help: string, read: (p: PluginSeries) => number, type: "counter" | "gauge") => {
    function collect(this: { reset(): void; inc(labels: { plugin: string }, value: number): void }): void {
      this.reset();
      for (const p of plugins.values()) if (p !== unknown) this.inc({ plugin: p.name }, read(p));
    }
    const config = { name, help, labelNames: ["plugin"] as const, registers: [register], collect };
    return type === "counter" ? new client.Counter(config) : new client.Gauge(config);
  };
  perPlugin("switchyard_inflight_requests", "Requests routed to a plugin and not answered yet", (p) => p.inflight, "gauge");
  perPlugin("switchyard_open_streams", "Streaming responses being written to clients", (p) => p.openStreams, "gauge");
  perPlugin("switchyard_retries_total", "Retried attempts", (p) => p.retries, "counter");
  perPlugin("switchyard_retry_budget_exhausted_total", "Retries not made because the retry budget was spent", (p) => p.retryBudgetExhausted, "counter");
  perPlugin("switchyard_rate_limited_total", "Requests refused by a rate limit (429)", (p) => p.rateLimited, "counter");
  perPlugin("switchyard_reply_bodies_cut_total", "Replies larger than one NATS message cut short after their headers went out", (p) => p.bodiesCut, "counter");
  const perStreamingMethod = (name: string, help: string, read: (s: StreamSeries) => number) =>
    new client.Counter({
      name,
      help,
      labelNames: ["plugin", "method"] as const,
      registers: [register],
      collect() {
        this.reset();
        for (const m of eachMethod()) if (m.stream !== undefined) this.inc({ plugin: m.plugin.name, method: m.method }, read(m.stream));
      },
    });
  perStreamingMethod("switchyard_stream_items_total", "Items of streaming methods written to clients", (s) => s.items);
  perStreamingMethod("switchyard_stream_bytes_total", "Bytes of stream items written to clients (the items' JSON, without NDJSON or SSE framing)", (s) => s.bytes);
  register.registerMetric(streamDurationHistogram(eachMethod) as unknown as client.Metric);
  new client.Gauge({
    name: "switchyard_breaker_state",
    help: "Circuit breaker state: 0 closed, 1 open, 2 half-open (method \"\" is the plugin's shared breaker)",
    labelNames: ["plugin", "method"] as const,
    registers: [register],
    collect() {
      this.reset();
      for (const b of sources.breakers?.() ?? []) this.set({ plugin: b.plugin, method: b.method }, BREAKER_STATE_VALUE[b.state]);
    },
  });
  new client.Gauge({
    name: "switchyard_ejected_instances",
    help: "Instances out of rotation as outliers",
    labelNames: ["plugin"] as const,
    registers: [register],
    collect() {
      this.reset();
      for (const e of sources.ejected?.() ?? []) this.set({ plugin: e.plugin }, e.count);
    },
  });
  const connected = new client.Gauge({ name: "switchyard_nats_connected", help: "1 while connected to NATS", registers: [register] });
  const reconnects = new client.Counter({ name: "switchyard_nats_reconnects_total", help: "Reconnects to NATS", registers: [register] });
  connected.set(1);
  reconnects.inc(0);
  if (options.runtime !== undefined) {
    new client.Gauge({ name: "switchyard_runtime_info", help: "The JavaScript runtime serving the router", labelNames: ["runtime"] as const, registers: [register] })
      .set({ runtime: options.runtime }, 1);
  }

  return {
    series(plugin, method) {
      const p = pluginSeries(plugin);
      let m = p.methods.get(method);
      if (m === undefined) {
        m = new MethodSeries(p, method, true);
        p.methods.set(method, m);
      }
      return m;
    },
    unrouted: (plugin) => plugin === undefined ? unknown.unknownMethod : pluginSeries(plugin).unknownMethod,
    natsConnected: (up) => connected.set(up ? 1 : 0),
    natsReconnect: () => reconnects.inc(),
    render: () => register.metrics(),
    contentType: register.contentType,
  };
}

/**
 * The latency histogram as a metric object prom-client's registry formats (its `get()` shape),
 * built from the {@linkcode MethodSeries} buckets at scrape time.
 */
function latencyHistogram(methods: () => Iterable<MethodSeries>) {
  const name = "switchyard_request_duration_seconds";
  return {
    name,
    help: "Time from receiving a request to answering it, by plugin and method",
    type: "histogram" as const,
    aggregator: "sum" as const,
    get() {
      const values: { labels: Record<string, string | number>; value: number; metricName: string }[] = [];
      for (const m of methods()) {
        const labels = { plugin: m.plugin.name, method: m.method };
        let cumulative = 0;
        for (let i = 0; i < LATENCY_BUCKETS_SECONDS.length; i++) {
          cumulative += m.buckets[i]!;
          values.push({ labels: { ...labels, le: LATENCY_BUCKETS_SECONDS[i]! }, value: cumulative, metricName: `${name}_bucket` });
        }
        values.push({ labels: { ...labels, le: "+Inf" }, value: m.count, metricName: `${name}_bucket` });
        values.push({ labels, value: m.sum, metricName: `${name}_sum` });
        values.push({ labels, value: m.count, metricName: `${name}_count` });
      }
      return Promise.resolve({ name, help: this.help, type: this.type, aggregator: this.aggregator, values });
    },
  };
}
