import { existsSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { connectBus } from "../bus/mod.ts";
import { loadConfig } from "../config/mod.ts";
import { currentRuntime, parseRuntime, watchPath } from "../runtime/mod.ts";
import type { PathWatch } from "../runtime/mod.ts";
import { createLogger } from "../telemetry/logger.ts";
import { startTelemetry } from "../telemetry/otel_sdk.ts";
import {
  devSpecs,
  findPlugins,
  folderSpec,
  followPluginFolders,
  hashPluginCode,
  orderByRequirements,
  pluginNameOf,
  serveSupervisorControl,
  Supervisor,
} from "../supervisor/mod.ts";
import type { PluginSpec } from "../supervisor/mod.ts";
import { supervisorConfigConsumer } from "./supervisor_reload.ts";
import { withRouting } from "./routing_args.ts";
import { printFolderEvent, printReload } from "./dev_reports.ts";
import { pluginGate, warnAnonymousPlugins } from "./plugin_gate.ts";
import { natsCredentials } from "./router_security.ts";
import { startNatsServer } from "../testing/nats_server.ts";
import { probeTcp } from "../testing/_nats_files.ts";

/** Where `switchyard ls`, `call` and `ps` look without `--nats` or `NATS_URL`. */
const DEFAULT_NATS_PORT = 4222;
import type { NatsServer } from "../testing/nats_server.ts";
import { cliCommand, parseFlags, print, printError } from "./command.ts";
import type { Command } from "./command.ts";
import { startRouter } from "./router_command.ts";
import { onShutdownSignal, SHUTDOWN_SIGNALS } from "./shutdown.ts";
import { redactUrl } from "../telemetry/redact.ts";

const CLI = join(dirname(fileURLToPath(import.meta.url)), "main.ts");

export const devCommand: Command = {
  name: "dev",
  summary: "run nats-server, the router and every plugin under ./plugins",
  usage: `Usage: switchyard dev [--port 8080] [--host 127.0.0.1] [--plugins DIR] [--runtime RT] [--config FILE]

Starts an embedded nats-server on a free port (unless NATS_URL is set; the binary comes from
NATS_SERVER_BIN or PATH), the router (with its /admin routes and its /dashboard, keeping recent
traces: plugins export their spans to it), and every plugin folder
(DIR/<name>/mod.ts, optional DIR/<name>/plugin.json with "runtime", "options" and "requires"),
under the same supervisor as "switchyard up". A file change under a plugin's folder replaces it
blue-green (new instances first; if they fail, the old ones keep serving and the error is shown).
A change to a plugin.json alone applies like a config change: new options reach the running
instances (they keep their state; options the plugin refuses are not applied and the reason is
shown), new permissions or requires replace them; an invalid plugin.json is refused. A new plugin
folder is started, a removed one drained. The config file is watched too: router settings,
replicas and plugin options apply at once.
Deno plugins run sandboxed with their manifest's "permissions" ("all" opts out). With "allowList"
in the config, a plugin whose code hash is not listed is not started (SIGHUP re-reads the list).
Ctrl-C (or SIGTERM, or SIGHUP without an allow-list) drains the router, then the plugins, then
stops nats-server.
  --port N            router port (default 8080; 0 picks a free one)
  --host ADDR         router address (default 127.0.0.1)
  --plugins DIR       plugin folders (default ./plugins)
  --runtime RT        deno, bun or node for plugins without a runtime of their own (default: this one)
  --config FILE       config (JSON or YAML): router settings, and plugins.<name> replicas, env,
                      args, options (over the manifest's), or a module outside DIR
  --no-watch          do not reload plugins on file changes`,
  async run(argv) {
    const { values } = parseFlags(argv, {
      port: { type: "string" },
      host: { type: "string" },
      plugins: { type: "string" },
      runtime: { type: "string" },
      config: { type: "string" },
      "no-watch": { type: "boolean" },
    });
    const configPath = values.config;
    const config = loadConfig(configPath, process.env);
    // dev serves the admin routes whatever the file says, also after a reload of it.
    const adjustConfig = (c: typeof config) => void (c.admin.enabled = true);
    adjustConfig(config);
    const fileConfig = structuredClone(config);
    config.router.port = Number(values.port ?? (process.env.PORT || 8080));
    config.router.host = values.host ?? "127.0.0.1";
    const logger = createLogger({ level: config.log.level, format: "pretty" });
    const runtime = values.runtime === undefined ? currentRuntime() : parseRuntime(values.runtime);
    const pluginsDir = values.plugins ?? "plugins";
    let specs;
    // Where plugins export their spans: the router's ring (set once the router listens).
    let traceEnv: Record<string, string> = {};
    // The folders as they are now: one added while dev runs is kept by a config reload. A sandboxed
    // Deno plugin exports too: its sandbox allows the endpoint its environment names.
    // Every spec, from the config or from a folder event, gets the same routing and trace settings:
    // a spec that differs only by them would be taken for a change that needs new instances.
    const dressed = (s: PluginSpec, c: typeof config): PluginSpec => {
      const routed = withRouting(s, c);
      return { ...routed, env: { ...traceEnv, ...routed.env } };
    };
    const specsOf = (c: typeof config) =>
      devSpecs(orderByRequirements(findPlugins(pluginsDir)), c, configPath, runtime).map((s) => dressed(s, c));
    try {
      specs = specsOf(config);
    } catch (err) {
      printError(`switchyard dev: ${(err as Error).message}`);
      return 78;
    }
    if (specs.length === 0) printError(`No plugins found under ${pluginsDir}/ (each needs <name>/mod.ts).`);

    let nats: NatsServer | undefined;
    if (config.nats.servers === undefined) {
      try {
        // NATS's usual port when it is free, so `switchyard ls`, `call` and `ps` find it without --nats.
        // Detached: a terminal's Ctrl-C signals the whole foreground process group, and the
        // server must outlive the drain of the router and the plugins; it is stopped last.
        const options = { detached: true };
        nats = await probeTcp(DEFAULT_NATS_PORT)
          ? await startNatsServer(options)
          : await startNatsServer({ ...options, port: DEFAULT_NATS_PORT }).catch(() => startNatsServer(options));
      } catch (err) {
        printError(`switchyard dev: cannot start an embedded nats-server.\n${(err as Error).message}\nOr point NATS_URL at a running server.`);
        return 69;
      }
      config.nats.servers = [nats.url];
      logger.info("embedded nats-server started", { url: nats.url, pid: nats.pid });
    }
    const natsUrl = config.nats.servers.join(",");
    const gate = pluginGate(config, logger);
    warnAnonymousPlugins(specs, config, logger);
    const telemetry = await startTelemetry(process.env, "switchyard-router", logger, { activeContext: false });
    const router = await startRouter(config, logger.child({ component: "router" }), {
      tracer: telemetry.tracer,
      tracesByDefault: true,
      ...(configPath === undefined ? {} : { configPath, fileConfig, adjustConfig }),
    });
    const url = `http://${config.router.host === "0.0.0.0" ? "127.0.0.1" : config.router.host}:${router.port}`;
    if (router.spans !== undefined) {
      traceEnv = pluginTraceEnv(url, process.env);
      specs = specsOf(config);
    }
    const supervisorLogger = logger.child({ component: "supervisor" });
    const nc = await connectBus({ servers: config.nats.servers, name: "supervisor#dev", ...natsCredentials(config, process.env) });
    const supervisor = new Supervisor({
      nc,
      natsUrl,
      prefix: config.prefix,
      cli: CLI,
      settings: config.supervisor,
      logFormat: "pretty",
      output: (id, line) => print(`[${id}] ${line}`),
      logger: supervisorLogger,
      id: "dev",
      gate: gate.spec,
    });
    const control = serveSupervisorControl(nc, supervisor, config.prefix, supervisorLogger);
    router.configWatcher?.add(supervisorConfigConsumer(supervisor, specsOf, supervisorLogger));
    const watches: PathWatch[] = [];
    // Ctrl-C: the router stops taking requests and finishes what runs, then the plugins drain,
    // then the router's bus connection, then nats-server.
    router.shutdown.add({
      name: "stop the plugins",
      run: async () => {
        for (const w of watches) w.close();
        control.close();
        await supervisor.stop();
        await nc.drain().catch(() => {});
      },
    }, { after: "finish in-flight requests" });
    let finish: (code: number) => void = () => {};
    const done = new Promise<number>((resolve) => finish = resolve);
    // SIGHUP too (a closed terminal), unless it re-reads the allow-list: the embedded nats-server,
    // in a process group of its own, would not get the terminal's hang-up and outlive dev.
    const signals: NodeJS.Signals[] = config.allowList === undefined ? [...SHUTDOWN_SIGNALS, "SIGHUP"] : [...SHUTDOWN_SIGNALS];
    onShutdownSignal(async () => {
      logger.info("stopping: the router, then the plugins, then nats-server");
      const code = await router.stop();
      await telemetry.shutdown();
      await nats?.stop();
      finish(code);
      return code;
    }, signals);

    const ready = await supervisor.start(specs);
    if (!ready) printError("Some plugins did not come up; see their lines above.");
    // Up means routed: the router admits an instance once it has proven it (docs/protocol.md).
    const routed = await until(() => specs.every((s) => router.registry.pick(s.name, undefined)), 5_000);
    if (ready && !routed) printError("The router has not found every plugin yet; see `curl /v1/plugins`.");
    if (!values["no-watch"]) {
      const dir = resolve(pluginsDir);
      const allowList = gate.spec.allowList;
      if (existsSync(dir)) {
        watches.push(followPluginFolders({
          dir,
          supervisor,
          specOf: (folder) => {
            const c = router.configWatcher?.current ?? fileConfig;
            return dressed(folderSpec(folder, c, configPath, runtime), c);
          },
          onEvent: printFolderEvent,
          ...(allowList === undefined ? {} : { refusal: (folder) => allowList.refusal(pluginNameOf(folder.module), hashPluginCode(folder.module).digest) }),
        }));
      }
      for (const spec of specs) {
        // Folders under the plugins folder are followed above; these are the config's own modules.
        if (spec.watchDir === undefined || resolve(spec.watchDir).startsWith(dir + sep)) continue;
        const name = spec.name;
        watches.push(watchPath(spec.watchDir, (burst) => {
          const what = burst.paths.filter((p) => p !== "").slice(0, 3).join(", ") || relative(process.cwd(), spec.watchDir!);
          void supervisor.reload(name, `${what} changed`, burst.firstAt).then((r) => printReload(name, r));
        }, { recursive: true, debounceMs: 100 }));
      }
    }
    print(`\nSwitchyard dev is up: router ${url}, NATS ${redactUrl(natsUrl)}, plugins: ${specs.map((s) => s.name).join(", ") || "none"}`);
    print(`Try:  curl -s -XPOST ${url}/v1/hello/greet -H 'content-type: application/json' -d '{"name":"World"}'`);
    print(`List: curl -s ${url}/v1/plugins   Instances: ${cliCommand()} ps --nats ${redactUrl(natsUrl)}`);
    print(`Dashboard: ${url}/dashboard${router.spans === undefined ? "" : `   A request's trace: ${cliCommand()} trace <request id> --router ${url}`}   (Ctrl-C stops everything)\n`);
    return await done;
  },
};

/**
 * The plugins' OpenTelemetry settings in dev: export spans to the router (`POST /v1/traces`), as
 * OTLP/JSON (cheaper to write in JavaScript and to read than protobuf, and the hop is local), in
 * batches every 500 ms (the SDK's 5 s would leave the dashboard's traces behind) unless set. The
 * router passes them on to the collector the dev process's own `OTEL_*` variables name, if any.
 */
export function pluginTraceEnv(routerUrl: string, env: Readonly<Record<string, string | undefined>>): Record<string, string> {
  return {
    OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `${routerUrl}/v1/traces`,
    OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: "http/json",
    OTEL_BSP_SCHEDULE_DELAY: env.OTEL_BSP_SCHEDULE_DELAY ?? "500",
  };
}

/** Polls `check` every 10 ms until it holds (true) or `ms` passed (false). */
async function until(check: () => unknown, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() >= deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return true;
}
