import { hostname } from "node:os";
import type { NatsConnection } from "@nats-io/nats-core";
import type { Tracer } from "@opentelemetry/api";
import { systemClock } from "../deps.ts";
import { connectBus, parseServers, RequestMux } from "../bus/mod.ts";
import { loadConfig } from "../config/mod.ts";
import type { ResolvedConfig } from "../config/mod.ts";
import { Registry, startDiscovery } from "../registry/mod.ts";
import { createRouter, metricSources } from "../router/mod.ts";
import { ResiliencePolicies } from "../resilience/mod.ts";
import { createRouterMetrics } from "../telemetry/mod.ts";
import type { RouterMetrics } from "../telemetry/mod.ts";
import { startTelemetry } from "../telemetry/otel_sdk.ts";
import { currentRuntime, loadRuntimeAdapter } from "../runtime/mod.ts";
import { createLogger, isLogLevel } from "../telemetry/logger.ts";
import type { Logger } from "../deps.ts";
import { NATS_FLAG, NATS_HELP, parseFlags, UsageError } from "./command.ts";
import type { Command } from "./command.ts";
import { onShutdownSignal } from "./shutdown.ts";

export const routerCommand: Command = {
  name: "router",
  summary: "serve the HTTP router (POST /v1/<plugin>/<method>)",
  usage: `Usage: switchyard router [--config FILE] [--port 8080] [--host 0.0.0.0] [--nats URL]

Serves POST /v1/<plugin>/<method>, GET /v1/plugins, GET /health, GET /metrics. Plugins are found on the bus.
  --config FILE       switchyard.config.json or .yaml (env: NATS_URL, PORT, LOG_LEVEL override it)
  --port N            listen port (default 8080; 0 picks a free one)
  --host ADDR         listen address (default 0.0.0.0)
${NATS_HELP}
  --log-format F      json (default) or pretty
  --log-level L       debug, info (default), warn or error; debug logs every request

Tracing: set OTEL_EXPORTER_OTLP_ENDPOINT (e.g. http://localhost:4318) to export spans over OTLP/HTTP;
the other standard OTEL_* variables apply (OTEL_SERVICE_NAME, OTEL_TRACES_SAMPLER, ...).`,
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
    const telemetry = startTelemetry(process.env, "switchyard-router", logger, { activeContext: false });
    const router = await startRouter(config, logger, { tracer: telemetry.tracer });
    onShutdownSignal(async (signal) => {
      logger.info("shutting down", { signal });
      await router.stop();
      await telemetry.shutdown();
      return 0;
    });
    return await router.done;
  },
};

/** A running router. */
export interface StartedRouter {
  readonly port: number;
  readonly nc: NatsConnection;
  readonly registry: Registry;
  readonly metrics: RouterMetrics | undefined;
  stop(): Promise<void>;
  /** Resolves with an exit code when the router stops. */
  readonly done: Promise<number>;
}

/** What {@linkcode startRouter} is given besides config and logger. */
export interface StartRouterOptions {
  /** Spans per request (from the SDK the CLI started); `undefined`: tracing off. */
  tracer?: Tracer | undefined;
}

/** Wires bus, registry, discovery, metrics and Hono app, and serves it with this runtime's adapter. */
export async function startRouter(config: ResolvedConfig, logger: Logger, options: StartRouterOptions = {}): Promise<StartedRouter> {
  const servers = config.nats.servers ?? ["nats://127.0.0.1:4222"];
  const nc = await connectBus({
    servers,
    name: `router#${hostname()}`,
    ...(config.nats.user === undefined ? {} : { user: config.nats.user }),
    ...(config.nats.pass === undefined ? {} : { pass: config.nats.pass }),
    ...(config.nats.token === undefined ? {} : { token: config.nats.token }),
  });
  let connected = true;
  let draining = false;
  const registry = new Registry(config.prefix);
  const deps = { clock: systemClock, logger };
  const policies = new ResiliencePolicies(config, deps);
  const metrics = config.metrics.enabled
    ? createRouterMetrics({ processMetrics: config.metrics.processMetrics, runtime: currentRuntime(), sources: metricSources(registry, policies, systemClock) })
    : undefined;
  (async () => {
    for await (const s of nc.status()) {
      if (s.type === "disconnect") {
        connected = false;
        metrics?.natsConnected(false);
        logger.warn("NATS disconnected", { server: s.server });
      } else if (s.type === "reconnect") {
        connected = true;
        metrics?.natsConnected(true);
        metrics?.natsReconnect();
        logger.info("NATS reconnected", { server: s.server });
      }
    }
  })();
  const discovery = startDiscovery(nc, registry, { prefix: config.prefix, intervalMs: config.discovery.intervalMs }, deps);
  await discovery.refresh();
  const mux = new RequestMux(nc);
  const app = createRouter({
    registry,
    mux,
    config,
    deps,
    policies,
    telemetry: { ...(metrics === undefined ? {} : { metrics }), tracer: options.tracer },
    readiness: () => draining ? "draining" : nc.isClosed() ? "NATS connection closed" : connected ? undefined : "NATS disconnected",
  });
  const adapter = await loadRuntimeAdapter();
  const server = await adapter.serve(app.fetch, { port: config.router.port, hostname: config.router.host });
  const shown = config.router.host === "0.0.0.0" ? "127.0.0.1" : config.router.host;
  logger.info("router ready", { url: `http://${shown}:${server.port}`, runtime: currentRuntime(), nats: servers });
  let finish: (code: number) => void = () => {};
  const done = new Promise<number>((resolve) => finish = resolve);
  let stopping: Promise<void> | undefined;
  return {
    port: server.port,
    nc,
    registry,
    metrics,
    done,
    stop: () =>
      stopping ??= (async () => {
        draining = true;
        await server.close();
        discovery.stop();
        await nc.drain().catch(() => {});
        logger.info("router stopped");
        finish(0);
      })(),
  };
}
