import client from "prom-client";

/** Label value for names the registry does not know, so scans of random paths add no series. */
export const UNKNOWN_LABEL = "_unknown";

/** Buckets from 100 µs to 30 s. */
export const LATENCY_BUCKETS_SECONDS = [
  0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30,
];

/** Breaker states as metric values. */
export const BREAKER_STATE_VALUE = { closed: 0, open: 1, half_open: 2 } as const;

/** What the router records. Plugin and method labels must already be folded to known names. */
export interface RouterMetrics {
  /** One finished HTTP request. */
  request(plugin: string, method: string, code: string, seconds: number): void;
  inflight(plugin: string, delta: number): void;
  retry(plugin: string): void;
  retryBudgetExhausted(plugin: string): void;
  rateLimited(plugin: string): void;
  breakerState(plugin: string, state: keyof typeof BREAKER_STATE_VALUE): void;
  ejectedInstances(plugin: string, count: number): void;
  natsConnected(connected: boolean): void;
  natsReconnect(): void;
  /** Prometheus text exposition. */
  render(): Promise<string>;
  readonly contentType: string;
}

/** Records nothing; the default when metrics are off. */
export const noopMetrics: RouterMetrics = {
  request() {},
  inflight() {},
  retry() {},
  retryBudgetExhausted() {},
  rateLimited() {},
  breakerState() {},
  ejectedInstances() {},
  natsConnected() {},
  natsReconnect() {},
  render: () => Promise.resolve(""),
  contentType: "text/plain",
};

/**
 * Metrics with prom-client, in a registry of their own (no global state). Label children are
 * bound once per label set, so a request costs two map lookups and two increments.
 */
export function createPromMetrics(options: { processMetrics?: boolean } = {}): RouterMetrics {
  const register = new client.Registry();
  if (options.processMetrics ?? true) client.collectDefaultMetrics({ register, prefix: "switchyard_" });
  const requests = new client.Counter({
    name: "switchyard_requests_total",
    help: "HTTP requests to plugin methods, by plugin, method and result code",
    labelNames: ["plugin", "method", "code"] as const,
    registers: [register],
  });
  const latency = new client.Histogram({
    name: "switchyard_request_duration_seconds",
    help: "Time from receiving a request to answering it",
    labelNames: ["plugin", "method"] as const,
    buckets: LATENCY_BUCKETS_SECONDS,
    registers: [register],
  });
  const gauge = (name: string, help: string) =>
    new client.Gauge({ name, help, labelNames: ["plugin"] as const, registers: [register] });
  const counter = (name: string, help: string) =>
    new client.Counter({ name, help, labelNames: ["plugin"] as const, registers: [register] });
  const inflight = gauge("switchyard_inflight_requests", "Requests being handled now");
  const retries = counter("switchyard_retries_total", "Retried attempts");
  const budget = counter("switchyard_retry_budget_exhausted_total", "Retries skipped because the retry budget was spent");
  const limited = counter("switchyard_rate_limited_total", "Requests refused by a rate limit");
  const breaker = gauge("switchyard_breaker_state", "Circuit breaker state: 0 closed, 1 open, 2 half-open");
  const ejected = gauge("switchyard_ejected_instances", "Instances ejected as outliers");
  const connected = new client.Gauge({ name: "switchyard_nats_connected", help: "1 when connected to NATS", registers: [register] });
  const reconnects = new client.Counter({ name: "switchyard_nats_reconnects_total", help: "NATS reconnects", registers: [register] });
  connected.set(1);

  const bound = new Map<string, { count: client.Counter.Internal; time: client.Histogram.Internal<"plugin" | "method"> }>();
  return {
    request(plugin, method, code, seconds) {
      const key = `${plugin}\u0000${method}\u0000${code}`;
      let b = bound.get(key);
      if (b === undefined) {
        b = { count: requests.labels(plugin, method, code), time: latency.labels(plugin, method) };
        bound.set(key, b);
      }
      b.count.inc();
      b.time.observe(seconds);
    },
    inflight: (plugin, delta) => inflight.inc({ plugin }, delta),
    retry: (plugin) => retries.inc({ plugin }),
    retryBudgetExhausted: (plugin) => budget.inc({ plugin }),
    rateLimited: (plugin) => limited.inc({ plugin }),
    breakerState: (plugin, state) => breaker.set({ plugin }, BREAKER_STATE_VALUE[state]),
    ejectedInstances: (plugin, count) => ejected.set({ plugin }, count),
    natsConnected: (up) => connected.set(up ? 1 : 0),
    natsReconnect: () => reconnects.inc(),
    render: () => register.metrics(),
    contentType: register.contentType,
  };
}
