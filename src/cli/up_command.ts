import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { hostname } from "node:os";
import { connectBus, parseServers } from "../bus/mod.ts";
import { ConfigWatcher, loadConfig } from "../config/mod.ts";
import { currentRuntime } from "../runtime/mod.ts";
import { formatInstanceLine, serveSupervisorControl, specsFromConfig, Supervisor } from "../supervisor/mod.ts";
import { supervisorConfigConsumer } from "./supervisor_reload.ts";
import { withRouting } from "./routing_args.ts";
import { createLogger } from "../telemetry/logger.ts";
import { NATS_FLAG, NATS_HELP, parseFlags, print, printError, UsageError } from "./command.ts";
import type { Command } from "./command.ts";
import { onShutdownSignal } from "./shutdown.ts";
import { pluginGate, warnAnonymousPlugins } from "./plugin_gate.ts";
import { natsCredentials } from "./router_security.ts";
import { redactUrl } from "../telemetry/redact.ts";

const CLI = join(dirname(fileURLToPath(import.meta.url)), "main.ts");

export const upCommand: Command = {
  name: "up",
  summary: "run and supervise the plugins a config file lists (production)",
  usage: `Usage: switchyard up --config FILE [--nats URL] [--log-format json|pretty]

Runs every plugin of the config file that has a "module" (plugins.<name>.module, relative to the
file), with its runtime (deno, bun, node), replicas, env, args, runtimeArgs, options and its own
NATS credentials (nats: user/pass, token, nkeySeedFile, credsFile, tls, inboxPrefix):
  {"plugins": {"hello": {"module": "plugins/hello/mod.ts", "runtime": "deno", "replicas": 3,
                         "nats": {"user": "hello", "pass": "hello-secret"}}}}
Instances start with a clean environment (PATH, HOME, locale, OTEL_*; never this process's NATS_*)
and get their credentials in a file of their own (docs/security.md).
Crashed instances restart with exponential backoff; crash loops are reported. Each instance's
lines are prefixed with its id. The file is watched: replicas, options (pushed to the running
instances), module, runtime, env and args (blue-green replacement) apply without a restart.
"switchyard ps" lists the instances, "switchyard reload <plugin>" replaces them blue-green.
SIGTERM/SIGINT drains every instance (plugins that require others first), then exits 0.
Run "switchyard router" next to it (it reads the same file) to serve HTTP.
  --config FILE       switchyard.config.json or .yaml (required)
${NATS_HELP}
  --log-format F      json (default) or pretty, for the supervisor and its instances`,
  async run(argv) {
    const { values } = parseFlags(argv, { ...NATS_FLAG, config: { type: "string" }, "log-format": { type: "string" } });
    const path = values.config;
    if (path === undefined) throw new UsageError("Name the config file: switchyard up --config switchyard.config.json");
    const config = loadConfig(path, process.env);
    const fileConfig = structuredClone(config);
    const servers = parseServers(values.nats);
    if (servers !== undefined) config.nats.servers = servers;
    const format = values["log-format"] === "pretty" ? "pretty" : values["log-format"] === "json" ? "json" : config.log.format;
    const logger = createLogger({ level: config.log.level, format, base: { component: "supervisor" } });
    const runtime = currentRuntime();
    const specsOf = (c: typeof config) => specsFromConfig(c, path, runtime).map((s) => withRouting(s, c));
    let specs;
    try {
      specs = specsOf(config);
    } catch (err) {
      printError(`switchyard up: ${(err as Error).message}`);
      return 78;
    }
    if (specs.length === 0) {
      printError(`switchyard up: no plugin in ${path} has a "module" to run (plugins.<name>.module)`);
      return 78;
    }
    warnAnonymousPlugins(specs, config, logger);
    const natsServers = config.nats.servers ?? ["nats://127.0.0.1:4222"];
    const nc = await connectBus({ servers: natsServers, name: `supervisor#${hostname()}`, ...natsCredentials(config, process.env) });
    const supervisor = new Supervisor({
      nc,
      natsUrl: natsServers.join(","),
      prefix: config.prefix,
      cli: CLI,
      settings: config.supervisor,
      logFormat: format,
      output: (id, line) => print(formatInstanceLine(format, id, line)),
      logger,
      gate: pluginGate(config, logger).spec,
    });
    const control = serveSupervisorControl(nc, supervisor, config.prefix, logger);
    let finish: (code: number) => void = () => {};
    const done = new Promise<number>((resolve) => finish = resolve);
    // Made once the plugins run, so a reload cannot race the start; the signal handler may come first.
    const watch: { watcher?: ConfigWatcher } = {};
    onShutdownSignal(async (signal) => {
      logger.info("stopping: draining every instance", { signal });
      watch.watcher?.close();
      control.close();
      await supervisor.stop();
      await nc.drain().catch(() => {});
      logger.info("supervisor stopped");
      finish(0);
      return 0;
    });
    const ready = await supervisor.start(specs);
    watch.watcher = new ConfigWatcher({ path, env: process.env, initial: fileConfig, consumers: [supervisorConfigConsumer(supervisor, specsOf, logger)], logger });
    logger.info("supervisor up", {
      id: supervisor.id,
      plugins: specs.map((s) => `${s.name}×${s.replicas}`),
      ready,
      config: path,
      nats: natsServers.map(redactUrl),
    });
    return await done;
  },
};
