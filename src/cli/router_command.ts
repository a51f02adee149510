import { hostname } from "node:os";
import type { NatsConnection } from "@nats-io/nats-core";
import type { Tracer } from "@opentelemetry/api";
import { systemClock } from "../deps.ts";
import { connectBus, parseServers, RequestMux } from "../bus/mod.ts";
import { ConfigWatcher, loadConfig, pipelineSettings } from "../config/mod.ts";
import type { ResolvedConfig } from "../config/mod.ts";
import { Registry, startDiscovery } from "../registry/mod.ts";
import { createRouter, metricSources, RouterLifecycle } from "../router/mod.ts";
import { currentRuntime, loadRuntimeAdapter } from "../runtime/mod.ts";
import { RequestPipeline } from "../pipeline/mod.ts";
import { ShutdownSequence } from "./shutdown_sequence.ts";
import { ROUTER_RESTART_PATHS, routerConfigConsumer } from "./router_reload.ts";
import type { ConfigConsumer } from "../config/mod.ts";
import type { DrainResult, PluginDrainOptions } from "../router/mod.ts";
import { createRouterMetrics } from "../telemetry/mod.ts";
import { otlpForwarder, ringTracer, SpanRing } from "../telemetry/ring.ts";
import type { RouterMetrics } from "../telemetry/mod.ts";
import { startTelemetry } from "../telemetry/otel_sdk.ts";
import { redactUrl } from "../telemetry/redact.ts";
import { createLogger, isLogLevel } from "../telemetry/logger.ts";
import type { Clock, Logger } from "../deps.ts";
import { NATS_FLAG, NATS_HELP, parseFlags, UsageError } from "./command.ts";
import type { Command } from "./command.ts";
import { onShutdownSignal } from "./shutdown.ts";
import { routerSecurity } from "./router_security.ts";
import { requestReload } from "../supervisor/mod.ts";
import type { ReloadOutcome } from "../router/mod.ts";

export const routerCommand: Command = {
  name: "router",
  summary: "serve the HTTP router (POST /v1/<plugin>/<method>)",
  usage: `Usage: switchyard router [--config FILE] [--port 8080] [--host 0.0.0.0] [--nats URL]

Serves POST /v1/<plugin>/<method>, GET /v1/plugins, GET /openapi.json (OpenAPI 3.1 of the
running plugins), GET /health, GET /metrics and GET /dashboard (off with router.dashboard: false).
Plugins are found on the bus.
The config file is watched. Applied at once: auth (API keys, JWT keys, Basic users, rules: a
removed key fails from the next request), timeouts, body limit, plugins, resilience, balancing,
admin, metrics.token and metrics.roles. Logged at warn as needsRestart, applied only by a restart:
  ${ROUTER_RESTART_PATHS}.
Invalid files are logged and ignored. SIGTERM/SIGINT drains: /health turns 503, new requests get 503 draining, in-flight
requests finish (up to router.drainTimeoutMs, then they are aborted and the exit code is 75).
  --config FILE       switchyard.config.json or .yaml (env: NATS_URL, PORT, LOG_LEVEL override it)
  --port N            listen port (default 8080; 0 picks a free one)
  --host ADDR         listen address (default 0.0.0.0)
${NATS_HELP}
  --log-format F      json (default) or pretty
  --log-level L       debug, info (default), warn or error; debug logs every request

Tracing: set OTEL_EXPORTER_OTLP_ENDPOINT (e.g. http://localhost:4318) to export spans over OTLP/HTTP;
the other standard OTEL_* variables apply (OTEL_SERVICE_NAME, OTEL_TRACES_SAMPLER, ...). With
router.traces.enabled the router keeps its recent spans for /dashboard and "switchyard trace", and takes
plugins' OTLP/HTTP exports at POST /v1/traces (see docs/dashboard.md).
Auth, TLS, timeouts and connection limits are config keys (auth.*, router.tls, router.*TimeoutMs,
router.maxConnections): see docs/security.md. NATS credentials: nats.* or NATS_USER, NATS_PASSWORD,
NATS_TOKEN, NATS_NKEY, NATS_CREDS, NATS_CA, NATS_CERT, NATS_KEY, NATS_INBOX_PREFIX.`,
  async run(argv) {
    const { values } = parseFlags(argv, {
      ...NATS_FLAG,
      config: { type: "string" },
      port: { type: "string" },
      host: { type: "string" },
      "log-format": { type: "string" },
      "log-level": { type: "string" },
    });
    const config = loadConfig(values.config, process.env);
    const fileConfig = structuredClone(config);
    const level = values["log-level"];
    if (level !== undefined) {
      if (!isLogLevel(level)) throw new UsageError("--log-level must be debug, info, warn or error");
      config.log.level = level;
    }
    if (values.port !== undefined) config.router.port = Number(values.port);
    if (values.host !== undefined) config.router.host = values.host;
    const servers = parseServers(values.nats);
    if (servers !== undefined) config.nats.servers = servers;
    if (values["log-format"] === "pretty") config.log.format = "pretty";
    const logger = createLogger({ level: config.log.level, format: config.log.format, base: { component: "router" } });
    const telemetry = await startTelemetry(process.env, "switchyard-router", logger, { activeContext: false });
    const router = await startRouter(config, logger, {
      tracer: telemetry.tracer,
      ...(values.config === undefined ? {} : { configPath: values.config, fileConfig }),
    });
    onShutdownSignal(async (signal) => {
      logger.info("shutting down", { signal, inflight: router.lifecycle.tracker.total });
      const code = await router.stop();
      await telemetry.shutdown();
      return code;
    });
    return await router.done;
  },
};

/** Exit code of a router whose shutdown had to abort requests still in flight at the drain timeout. */
export const EXIT_ABORTED = 75;
/** How long a reload from the dashboard waits for the supervisors' outcome. */
const RELOAD_TIMEOUT_MS = 120_000;

/** Options of {@linkcode startRouter}. */
export interface StartRouterOptions {
  /** Spans per request (from the SDK the CLI started); `undefined`: tracing off. */
  tracer?: Tracer | undefined;
  /** Watch this config file and apply its changes while running. */
  configPath?: string;
  /** The config as read from `configPath`, before command-line overrides: the base reloads diff against. @default `config` */
  fileConfig?: ResolvedConfig;
  /** Other parts of the process that take config reloads (dev's supervisor). */
  configConsumers?: readonly ConfigConsumer[];
  /** For the env overrides of reloaded files. @default process.env */
  env?: Readonly<Record<string, string | undefined>>;
  /** Applied to each reloaded config, as the caller adjusted `fileConfig` (see {@linkcode ConfigWatcher}). */
  adjustConfig?: (config: ResolvedConfig) => void;
  /** Keep recent spans when `router.traces.enabled` is not set. @default false (`switchyard dev`: true) */
  tracesByDefault?: boolean;
  /** Time for every part of the router (tests pass one they can move forward). @default systemClock */
  clock?: Clock;
}

/** A running router. */
export interface StartedRouter {
  readonly port: number;
  readonly nc: NatsConnection;
  readonly registry: Registry;
  readonly metrics: RouterMetrics | undefined;
  /** The recent spans behind `/dashboard` and `switchyard trace`, when `router.traces` is on. */
  readonly spans: SpanRing | undefined;
  /** In-flight counts, plugin drains, the shutdown gate. */
  readonly lifecycle: RouterLifecycle;
  /**
   * The ordered shutdown steps `stop()` runs. Add a step by name, e.g.
   * `router.shutdown.add({ name: "flush spans", run }, { before: "drain the NATS connection" })`.
   */
  readonly shutdown: ShutdownSequence;
  /** The config file watch, when started with `configPath`. */
  readonly configWatcher: ConfigWatcher | undefined;
  /** Stops routing to `plugin` in this router and waits for its in-flight requests (see {@linkcode RouterLifecycle.drainPlugin}). */
  drainPlugin(plugin: string, options?: PluginDrainOptions): Promise<DrainResult>;
  /** Runs the shutdown steps once; resolves with the exit code: 0, or 75 when requests had to be aborted. */
  stop(): Promise<number>;
  /** Resolves with an exit code when the router stops. */
  readonly done: Promise<number>;
}

/** Wires bus, registry, discovery and Hono app, and serves it with this runtime's adapter. */
export async function startRouter(config: ResolvedConfig, logger: Logger, options: StartRouterOptions = {}): Promise<StartedRouter> {
  const servers = config.nats.servers ?? ["nats://127.0.0.1:4222"];
  const clock = options.clock ?? systemClock;
  const security = await routerSecurity(config, process.env, { clock, logger });
  const nc = await connectBus({ servers, name: `router#${hostname()}`, ...security.nats });
  let connected = true;
  const registry = new Registry(config.prefix);
  const deps = { clock, logger };
  const mux = new RequestMux(nc, { inboxPrefix: security.nats.inboxPrefix, clock });
  // An instance removed on use may be alive (it rejoined through another server): discovery asks again.
  const pipeline = new RequestPipeline({ registry, mux, settings: pipelineSettings(config), onRemoved: (i) => discovery.recheck(i.plugin, i.id), ...deps });
  const policies = pipeline.policies;
  // The settings the router reads; a reload replaces the object (see router_reload.ts).
  let current = config;
  const metrics = config.metrics.enabled
    ? createRouterMetrics({ processMetrics: config.metrics.processMetrics, runtime: currentRuntime(), sources: metricSources(registry, policies, clock) })
    : undefined;
  (async () => {
    for await (const s of nc.status()) {
      if (s.type === "disconnect") {
        connected = false;
        metrics?.natsConnected(false);
        logger.warn("NATS disconnected", { server: redactUrl(s.server) });
      } else if (s.type === "reconnect") {
        connected = true;
        metrics?.natsConnected(true);
        metrics?.natsReconnect();
        logger.info("NATS reconnected", { server: redactUrl(s.server) });
      }
    }
  })();
  const adapter = await loadRuntimeAdapter();
  // An instance that died or reconnected: what the router still waits on from it will never come.
  const discovery = startDiscovery(nc, registry, {
    prefix: config.prefix,
    mux,
    mode: config.discovery.mode,
    intervalMs: config.discovery.intervalMs,
    rollCallMs: config.discovery.rollCallMs,
    onGone: (instance, why) => pipeline.instanceGone(instance, why === "lost" ? "its supervisor reported it dead" : "it reconnected"),
  }, deps);
  await discovery.refresh();
  const lifecycle = new RouterLifecycle({
    known: (name) => registry.get(name) !== undefined,
    requests: mux,
    drainTimeoutMs: () => current.router.drainTimeoutMs,
    ...deps,
  });
  // The ring of recent spans: the router's own through a tracer that keeps them (beside the SDK's
  // export, if any), the plugins' through POST /v1/traces, passed on to the configured collector.
  const env = options.env ?? process.env;
  const spans = (config.router.traces.enabled ?? options.tracesByDefault ?? false) ? new SpanRing(config.router.traces.maxSpans) : undefined;
  const tracer = spans === undefined ? options.tracer : ringTracer(spans, env.OTEL_SERVICE_NAME?.trim() || "switchyard-router", options.tracer);
  const reload = async (plugin: string): Promise<ReloadOutcome> => {
    const outcome = await requestReload(nc, config.prefix, plugin, { timeoutMs: RELOAD_TIMEOUT_MS });
    if (outcome.accepted.length === 0) return { ok: false, message: `No supervisor runs "${plugin}" (or this router may not publish to ${config.prefix}.$sup.reload)` };
    if (outcome.timedOut) return { ok: false, message: `Gave up waiting after ${RELOAD_TIMEOUT_MS} ms` };
    const lines = outcome.finals.map((f) =>
      f.status === "done" && f.report !== undefined
        ? `${f.supervisor}: reloaded${f.report.version === undefined ? "" : ` (version ${f.report.version})`}, new instances ${f.report.instances.join(", ")} ready in ${f.report.readyMs} ms`
        : `${f.supervisor}: failed, the running instances keep serving: ${f.report?.error ?? "unknown reason"}`
    );
    return { ok: outcome.finals.every((f) => f.status === "done"), message: lines.join("; ") };
  };
  const app = createRouter({
    respond: adapter.respond,
    dashboard: { spans, reload, forward: spans === undefined ? undefined : otlpForwarder(env, logger) },
    pipeline,
    settings: () => current,
    deps,
    lifecycle,
    ...(security.auth === undefined ? {} : { auth: security.auth }),
    telemetry: { ...(metrics === undefined ? {} : { metrics }), tracer },
    readiness: () =>
      lifecycle.shuttingDown ? "draining" : nc.isClosed() ? "NATS connection closed" : connected ? undefined : "NATS disconnected",
  });
  const configWatcher = options.configPath === undefined ? undefined : new ConfigWatcher({
    path: options.configPath,
    env: options.env ?? process.env,
    initial: options.fileConfig ?? config,
    ...(options.adjustConfig === undefined ? {} : { adjust: options.adjustConfig }),
    consumers: [
      routerConfigConsumer({ pipeline, current: () => current, swap: (next) => current = next, auth: security.auth, logger }),
      ...(options.configConsumers ?? []),
    ],
    logger,
  });
  const server = await adapter.serve(lifecycle.gate(app.fetch), {
    port: config.router.port,
    hostname: config.router.host,
    limits: security.limits,
    connectionGuard: config.router.connectionGuard,
    ...(security.tls === undefined ? {} : { tls: security.tls }),
  });
  const shown = config.router.host === "0.0.0.0" ? "127.0.0.1" : config.router.host;
  logger.info("router ready", { url: `${security.tls ? "https" : "http"}://${shown}:${server.port}`, runtime: currentRuntime(), nats: servers.map(redactUrl) });
  let finish: (code: number) => void = () => {};
  const done = new Promise<number>((resolve) => finish = resolve);
  let drained: DrainResult | undefined;
  const shutdown = new ShutdownSequence([
    {
      name: "finish in-flight requests",
      run: async () => {
        drained = await lifecycle.shutdown({
          progressIntervalMs: 1_000,
          onProgress: (p) => p.inflight > 0 && logger.info("router draining", { inflight: p.inflight, elapsedMs: p.elapsedMs }),
        });
      },
    },
    { name: "stop watching the config", run: () => configWatcher?.close() },
    { name: "close the HTTP server", run: () => server.close() },
    { name: "stop discovery", run: () => {
      discovery.stop();
      pipeline.close();
    } },
    // Span flushing belongs here, before the bus goes away.
    { name: "drain the NATS connection", run: () => nc.isClosed() ? undefined : nc.drain() },
  ]);
  let stopping: Promise<number> | undefined;
  return {
    port: server.port,
    nc,
    registry,
    metrics,
    lifecycle,
    shutdown,
    configWatcher,
    spans,
    done,
    drainPlugin: (plugin, drainOptions) => lifecycle.drainPlugin(plugin, drainOptions),
    stop: () =>
      stopping ??= (async () => {
        const t0 = performance.now();
        const report = await shutdown.run(logger);
        const aborted = drained?.aborted ?? 0;
        const code = aborted > 0 || (drained?.remaining ?? 0) > 0 ? EXIT_ABORTED : report.failed ? 1 : 0;
        logger.info("router stopped", { exitCode: code, ms: Math.round(performance.now() - t0), drained: drained?.drained, aborted });
        finish(code);
        return code;
      })(),
  };
}
