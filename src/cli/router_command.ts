import { hostname } from "node:os";
import type { NatsConnection } from "@nats-io/nats-core";
import { systemClock } from "../deps.ts";
import { connectBus, parseServers, RequestMux } from "../bus/mod.ts";
import { loadConfig } from "../config/mod.ts";
import type { ResolvedConfig } from "../config/mod.ts";
import { Registry, startDiscovery } from "../registry/mod.ts";
import { createRouter } from "../router/mod.ts";
import { currentRuntime, loadRuntimeAdapter } from "../runtime/mod.ts";
import { createLogger } from "../telemetry/logger.ts";
import type { Logger } from "../deps.ts";
import { NATS_FLAG, NATS_HELP, parseFlags } from "./command.ts";
import type { Command } from "./command.ts";
import { onShutdownSignal } from "./shutdown.ts";
import { routerSecurity } from "./router_security.ts";

export const routerCommand: Command = {
  name: "router",
  summary: "serve the HTTP router (POST /v1/<plugin>/<method>)",
  usage: `Usage: switchyard router [--config FILE] [--port 8080] [--host 0.0.0.0] [--nats URL]

Serves POST /v1/<plugin>/<method>, GET /v1/plugins, GET /health. Plugins are found on the bus.
  --config FILE       switchyard.config.json or .yaml (env: NATS_URL, PORT override it)
  --port N            listen port (default 8080; 0 picks a free one)
  --host ADDR         listen address (default 0.0.0.0)
${NATS_HELP}
  --log-format F      json (default) or pretty
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
    });
    const config = loadConfig(values.config, process.env);
    if (values.port !== undefined) config.router.port = Number(values.port);
    if (values.host !== undefined) config.router.host = values.host;
    const servers = parseServers(values.nats);
    if (servers !== undefined) config.nats.servers = servers;
    if (values["log-format"] === "pretty") config.log.format = "pretty";
    const logger = createLogger({ level: config.log.level, format: config.log.format, base: { component: "router" } });
    const router = await startRouter(config, logger);
    onShutdownSignal(async (signal) => {
      logger.info("shutting down", { signal });
      await router.stop();
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
  stop(): Promise<void>;
  /** Resolves with an exit code when the router stops. */
  readonly done: Promise<number>;
}

/** Wires bus, registry, discovery and Hono app, and serves it with this runtime's adapter. */
export async function startRouter(config: ResolvedConfig, logger: Logger): Promise<StartedRouter> {
  const servers = config.nats.servers ?? ["nats://127.0.0.1:4222"];
  const security = await routerSecurity(config, process.env, { clock: systemClock, logger });
  const nc = await connectBus({ servers, name: `router#${hostname()}`, ...security.nats });
  let connected = true;
  let draining = false;
  (async () => {
    for await (const s of nc.status()) {
      if (s.type === "disconnect") {
        connected = false;
        logger.warn("NATS disconnected", { server: s.server });
      } else if (s.type === "reconnect") {
        connected = true;
        logger.info("NATS reconnected", { server: s.server });
      }
    }
  })();
  const registry = new Registry(config.prefix);
  const deps = { clock: systemClock, logger };
  const discovery = startDiscovery(nc, registry, { prefix: config.prefix, intervalMs: config.discovery.intervalMs }, deps);
  await discovery.refresh();
  const mux = new RequestMux(nc, security.nats.inboxPrefix);
  const app = createRouter({
    registry,
    mux,
    config,
    deps,
    ...(security.auth === undefined ? {} : { auth: security.auth }),
    readiness: () => draining ? "draining" : nc.isClosed() ? "NATS connection closed" : connected ? undefined : "NATS disconnected",
  });
  const adapter = await loadRuntimeAdapter();
  const server = await adapter.serve(app.fetch, {
    port: config.router.port,
    hostname: config.router.host,
    limits: security.limits,
    ...(security.tls === undefined ? {} : { tls: security.tls }),
  });
  const shown = config.router.host === "0.0.0.0" ? "127.0.0.1" : config.router.host;
  logger.info("router ready", { url: `${security.tls ? "https" : "http"}://${shown}:${server.port}`, runtime: currentRuntime(), nats: servers });
  let finish: (code: number) => void = () => {};
  const done = new Promise<number>((resolve) => finish = resolve);
  let stopping: Promise<void> | undefined;
  return {
    port: server.port,
    nc,
    registry,
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
