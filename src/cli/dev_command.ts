import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { loadConfig } from "../config/mod.ts";
import { createLogger } from "../telemetry/logger.ts";
import { currentRuntime, parseRuntime } from "../runtime/mod.ts";
import { findPlugins, orderByRequirements, PluginRefusedError, startPluginProcess } from "../supervisor/mod.ts";
import { pluginGate } from "./plugin_gate.ts";
import type { PluginFolder, PluginProcess } from "../supervisor/mod.ts";
import { startNatsServer } from "../testing/nats_server.ts";
import type { NatsServer } from "../testing/nats_server.ts";
import { parseFlags, print, printError } from "./command.ts";
import type { Command } from "./command.ts";
import { startRouter } from "./router_command.ts";
import { onShutdownSignal } from "./shutdown.ts";

const CLI = join(dirname(fileURLToPath(import.meta.url)), "main.ts");

export const devCommand: Command = {
  name: "dev",
  summary: "run nats-server, the router and every plugin under ./plugins",
  usage: `Usage: switchyard dev [--port 8080] [--host 127.0.0.1] [--plugins DIR] [--runtime RT] [--config FILE]

Starts an embedded nats-server on a free port (unless NATS_URL is set; the binary comes from
NATS_SERVER_BIN or PATH), the router, and one instance of every plugin folder (DIR/<name>/mod.ts,
optional DIR/<name>/plugin.json with "runtime", "options" and "permissions"). Deno plugins run
sandboxed with their manifest's permissions. With "allowList" in the config, a plugin whose code
hash is not listed is not started (SIGHUP re-reads the list). Ctrl-C stops everything.
  --port N            router port (default 8080)
  --host ADDR         router address (default 127.0.0.1)
  --plugins DIR       plugin folders (default ./plugins)
  --runtime RT        deno, bun or node for plugins without a manifest runtime (default: this one)
  --config FILE       router config (JSON or YAML)`,
  async run(argv) {
    const { values } = parseFlags(argv, {
      port: { type: "string" },
      host: { type: "string" },
      plugins: { type: "string" },
      runtime: { type: "string" },
      config: { type: "string" },
    });
    const config = loadConfig(values.config, process.env);
    config.router.port = Number(values.port ?? (process.env.PORT || 8080));
    config.router.host = values.host ?? "127.0.0.1";
    const logger = createLogger({ level: config.log.level, format: "pretty" });
    const runtime = values.runtime === undefined ? currentRuntime() : parseRuntime(values.runtime);
    let folders: PluginFolder[];
    try {
      folders = orderByRequirements(findPlugins(values.plugins ?? "plugins"));
    } catch (err) {
      printError(`switchyard dev: ${(err as Error).message}`);
      return 78;
    }
    if (folders.length === 0) printError(`No plugins found under ${values.plugins ?? "plugins"}/ (each needs <name>/mod.ts).`);

    let nats: NatsServer | undefined;
    if (config.nats.servers === undefined) {
      try {
        nats = await startNatsServer();
      } catch (err) {
        printError(`switchyard dev: cannot start an embedded nats-server.\n${(err as Error).message}\nOr point NATS_URL at a running server.`);
        return 69;
      }
      config.nats.servers = [nats.url];
      logger.info("embedded nats-server started", { url: nats.url });
    }
    const natsUrl = config.nats.servers.join(",");
    const gate = pluginGate(config, logger);
    const router = await startRouter(config, logger.child({ component: "router" }));
    // Dependency order: a plugin starts once the plugins it requires (among these) serve.
    const processes: PluginProcess[] = [];
    const local = new Set(folders.map((f) => f.name));
    for (const folder of folders) {
      const needs = Object.entries(folder.requires).filter(([name]) => local.has(name));
      if (needs.length > 0 && !await waitUntil(() => needs.every(([name, range]) => router.registry.pick(name, range)), 30_000)) {
        printError(`${folder.name}: its requirements ${JSON.stringify(folder.requires)} did not come up within 30 s; starting it anyway.`);
      }
      try {
        processes.push(startPluginProcess({
          label: folder.name,
          runtime: folder.runtime ?? runtime,
          cli: CLI,
          module: folder.module,
          natsUrl,
          options: folder.options,
          requires: folder.requires,
          permissions: folder.permissions,
          ...gate.spec,
          onLine: (label, line) => print(`[${label}] ${line}`),
        }));
      } catch (err) {
        if (!(err instanceof PluginRefusedError)) throw err;
        printError(`${folder.name}: ${err.message}`);
        gate.refused.add(folder.name);
      }
    }
    const ready = await waitUntil(() => folders.every((f) => gate.refused.has(f.name) || router.registry.pick(f.name, undefined)), 30_000);
    if (!ready) printError("Some plugins did not come up within 30 s; see their lines above.");
    const url = `http://${config.router.host}:${router.port}`;
    print(`\nSwitchyard dev is up: router ${url}, NATS ${natsUrl}, plugins: ${folders.map((f) => f.name).join(", ") || "none"}`);
    print(`Try:  curl -s -XPOST ${url}/v1/hello/greet -H 'content-type: application/json' -d '{"name":"World"}'`);
    print(`List: curl -s ${url}/v1/plugins   (Ctrl-C stops everything)\n`);
    for (const p of processes) {
      p.exited.then((code) => {
        if (!stopping) logger.warn("plugin exited", { plugin: p.spec.label, code, module: relative(process.cwd(), p.spec.module) });
      });
    }
    let stopping = false;
    onShutdownSignal(async () => {
      stopping = true;
      logger.info("stopping plugins, then the router and nats-server");
      await Promise.all(processes.map((p) => p.stop(config.router.drainTimeoutMs)));
      await router.stop();
      await nats?.stop();
      return 0;
    });
    return await router.done;
  },
};

async function waitUntil(check: () => unknown, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  return true;
}
