import { hostname } from "node:os";
import { dirname, resolve } from "node:path";
import { readCredentialsFile, readManifest } from "../supervisor/mod.ts";
import { nuid } from "@nats-io/nats-core";
import { connectBus, INSTANCE_ID, natsCredentialsFromEnv, parseServers } from "../bus/mod.ts";
import { sandboxSafe, sandboxSafeEnv } from "./sandbox_safe.ts";
import { loadPlugin, servePlugin } from "../host/mod.ts";
import { REGION_NAME } from "../registry/mod.ts";
import { loadConfig, pipelineSettings, resolveConfig } from "../config/mod.ts";
import type { Config } from "../config/mod.ts";
import type { PipelineSettings } from "../pipeline/mod.ts";
import { currentRuntime } from "../runtime/mod.ts";
import { createLogger, isLogLevel } from "../telemetry/logger.ts";
import { startTelemetry } from "../telemetry/otel_sdk.ts";
import { NATS_FLAG, NATS_HELP, parseFlags, UsageError } from "./command.ts";
import type { Command } from "./command.ts";
import { onShutdownSignal } from "./shutdown.ts";

export const pluginCommand: Command = {
  name: "plugin",
  summary: "serve one plugin module as a NATS service",
  usage: `Usage: switchyard plugin <module.ts> [--nats URL] [--instance-id ID] [--drain-timeout MS]

Serves the module's default export (definePlugin({...})) in its version's queue group.
SIGTERM or SIGINT drains: stop intake, finish running handlers, exit 0.
${NATS_HELP}
  --instance-id ID    unique instance id (default: a random NUID)
  --prefix P          subject prefix (default: sy)
  --options JSON      the plugin's options, checked against its options schema
  --weight N          this instance's weight for the "weighted" balancer (default 1)
  --region R          the region it runs in (env: SWITCHYARD_REGION); routers of that region prefer it
  --requires JSON     manifest requirements (default: read from plugin.json beside the module)
  --config FILE       how ctx.call routes: the callees' version rules and canaries (plugins.<name>),
                      resilience and balancing, as the router reads them from the same file
  --routing JSON      the same as JSON ({timeoutMs, resilience, balancing, plugins}); the supervisor
                      passes it, cut to the plugins this one requires
  --parent-pid PID    drain when this supervising process exits
  --nats-credentials FILE  NATS credentials as JSON (user, pass, token, nkeySeedFile, credsFile,
                      tls, inboxPrefix): how the supervisor hands each instance its own
NATS credentials also come from NATS_USER, NATS_PASSWORD, NATS_TOKEN, NATS_NKEY (seed file),
NATS_CREDS (creds file), NATS_CA, NATS_CERT, NATS_KEY and NATS_INBOX_PREFIX (over the file's).
  --drain-timeout MS  abort handlers still running after this long (default 10000)
  --log-format F      json (default) or pretty
  --log-level L       debug, info (default), warn or error (env: LOG_LEVEL)

Tracing: set OTEL_EXPORTER_OTLP_ENDPOINT (e.g. http://localhost:4318) to export a span per request
over OTLP/HTTP; OTEL_SERVICE_NAME defaults to plugin-<name>.`,
  async run(argv) {
    const { values, positionals } = parseFlags(argv, {
      ...NATS_FLAG,
      "instance-id": { type: "string" },
      prefix: { type: "string" },
      "drain-timeout": { type: "string" },
      "log-format": { type: "string" },
      "log-level": { type: "string" },
      options: { type: "string" },
      weight: { type: "string" },
      region: { type: "string" },
      requires: { type: "string" },
      config: { type: "string" },
      routing: { type: "string" },
      "parent-pid": { type: "string" },
      "nats-credentials": { type: "string" },
    });
    const env = sandboxSafeEnv(process.env);
    let pluginOptions: unknown = {};
    try {
      pluginOptions = JSON.parse(values.options ?? "{}");
    } catch {
      throw new UsageError("--options must be JSON, e.g. --options '{\"step\":2}'");
    }
    const path = positionals[0];
    if (path === undefined) throw new UsageError("Name the plugin module, e.g. switchyard plugin plugins/hello/mod.ts");
    const instanceId = values["instance-id"] ?? nuid.next();
    if (!INSTANCE_ID.test(instanceId)) throw new UsageError(`--instance-id must match ${INSTANCE_ID.source}`);
    const level = values["log-level"] ?? env.LOG_LEVEL?.trim().toLowerCase() ?? "info";
    if (!isLogLevel(level)) throw new UsageError(`--log-level (or LOG_LEVEL) must be debug, info, warn or error, not "${level}"`);
    const logger = createLogger({ level, format: values["log-format"] === "pretty" ? "pretty" : "json" });
    const weight = values.weight === undefined ? undefined : Number(values.weight);
    const region = values.region ?? regionFromEnv(env);
    if (region !== undefined && !REGION_NAME.test(region)) throw new UsageError(`--region must match ${REGION_NAME.source}`);
    if (weight !== undefined && !(weight > 0 && Number.isFinite(weight))) throw new UsageError("--weight must be a positive number");
    const plugin = await loadPlugin(path);
    let requires: Record<string, string> | undefined;
    try {
      requires = values.requires === undefined ? readManifest(dirname(resolve(path))).requires : JSON.parse(values.requires) as Record<string, string>;
    } catch (err) {
      throw new UsageError(`--requires / plugin.json: ${(err as Error).message}`);
    }
    const fromConfig = values.config === undefined ? undefined : loadConfig(values.config, env);
    const prefix = values.prefix ?? fromConfig?.prefix;
    const routing = values.routing !== undefined ? parseRouting(values.routing) : fromConfig === undefined ? undefined : pipelineSettings(fromConfig);
    let fromFile = {};
    if (values["nats-credentials"] !== undefined) {
      try {
        fromFile = readCredentialsFile(values["nats-credentials"]);
      } catch (err) {
        throw new UsageError(`--nats-credentials: ${(err as Error).message}`);
      }
    }
    const credentials = natsCredentialsFromEnv(env, fromFile);
    const nc = await connectBus({
      servers: parseServers(values.nats) ?? parseServers(env.NATS_URL) ?? ["nats://127.0.0.1:4222"],
      name: `plugin:${plugin.name}@${plugin.version}#${instanceId}`,
      ...credentials,
    });
    // Tracing is an aid: when the SDK cannot start (a sandbox refusing what it needs, say), the plugin serves untraced.
    const telemetry = await startTelemetry(process.env, `plugin-${plugin.name}`, logger).catch((err: unknown) => {
      logger.warn("tracing is off: the OpenTelemetry SDK could not start", { error: String(err) });
      return { tracer: undefined, shutdown: () => Promise.resolve() };
    });
    const host = await servePlugin(plugin, nc, {
      instanceId,
      logger,
      tracer: telemetry.tracer,
      runtime: currentRuntime(),
      host: sandboxSafe(() => hostname(), ""),
      options: pluginOptions,
      ...(weight === undefined ? {} : { weight }),
      ...(requires === undefined ? {} : { requires }),
      ...(routing === undefined ? {} : { routing }),
      ...(region === undefined ? {} : { region }),
      ...(prefix === undefined ? {} : { prefix }),
      ...(credentials.inboxPrefix === undefined ? {} : { inboxPrefix: credentials.inboxPrefix }),
    });
    const drainTimeoutMs = Number(values["drain-timeout"] ?? 10_000);
    return await new Promise<number>((resolve) => {
      const stop = async () => {
        await host.drain({ timeoutMs: drainTimeoutMs });
        await nc.drain().catch(() => {});
        await telemetry.shutdown();
        resolve(0);
        return 0;
      };
      onShutdownSignal(stop);
      watchParent(values["parent-pid"] ?? env.SWITCHYARD_PARENT_PID, () => {
        logger.warn("the supervisor is gone: draining");
        void stop();
      });
    });
  },
};

/**
 * Calls `gone` once when the supervising process (by pid) has exited. A sandbox may forbid
 * signalling it: then a changed parent pid (the orphan was adopted) tells instead.
 */
function watchParent(pid: string | undefined, gone: () => void): void {
  if (pid === undefined || !/^\d+$/.test(pid)) return;
  const parent = Number(pid);
  const timer = setInterval(() => {
    let alive: boolean;
    try {
      process.kill(parent, 0);
      alive = true;
    } catch (err) {
      alive = (err as { code?: string }).code !== "ESRCH" && process.ppid === parent;
    }
    if (!alive) {
      clearInterval(timer);
      gone();
    }
  }, 1_000);
  (timer as { unref?: () => void }).unref?.();
}

/**
 * `--routing JSON`: checked as the config checks the same keys.
 * @throws {UsageError} naming each problem.
 */
function parseRouting(text: string): PipelineSettings {
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(text) as Record<string, unknown>;
  } catch {
    throw new UsageError("--routing must be JSON: {timeoutMs, resilience, balancing, plugins}");
  }
  try {
    const config = resolveConfig({ router: { timeoutMs: raw.timeoutMs }, resilience: raw.resilience, balancing: raw.balancing, plugins: raw.plugins } as Config, {});
    return pipelineSettings(config);
  } catch (err) {
    throw new UsageError(`--routing: ${(err as Error).message}`);
  }
}

/** `SWITCHYARD_REGION`, when set. */
function regionFromEnv(env: Readonly<Record<string, string | undefined>>): string | undefined {
  const region = env.SWITCHYARD_REGION?.trim();
  return region === "" ? undefined : region;
}
