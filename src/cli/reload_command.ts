import { DEFAULT_PREFIX, PLUGIN_NAME } from "../bus/mod.ts";
import { requestReload } from "../supervisor/mod.ts";
import { cliCommand, NATS_FLAG, NATS_HELP, parseFlags, print, printError, UsageError } from "./command.ts";
import type { Command } from "./command.ts";
import { connectClient } from "./bus_client.ts";

export const reloadCommand: Command = {
  name: "reload",
  summary: "replace a plugin's instances blue-green with its current code",
  usage: `Usage: switchyard reload <plugin> [--nats URL] [--prefix P] [--timeout MS]

Asks the supervisors running the plugin (over <prefix>.$sup.reload.<plugin>) to start new
instances from its module, wait until they answer discovery and health, drain the old ones, and
report. If the new code fails to start or is unhealthy, the old instances keep serving and the
reason is printed. Exit code 0 when every supervisor reloaded it, 1 otherwise.
${NATS_HELP}
  --prefix P          subject prefix (default: sy)
  --timeout MS        how long to wait for the outcome (default 120000)`,
  async run(argv) {
    const { values, positionals } = parseFlags(argv, { ...NATS_FLAG, prefix: { type: "string" }, timeout: { type: "string" } });
    const plugin = positionals[0];
    if (plugin === undefined || !PLUGIN_NAME.test(plugin)) throw new UsageError(`Name the plugin to reload, e.g. ${cliCommand()} reload hello`);
    const timeoutMs = Number(values.timeout ?? 120_000);
    if (!(timeoutMs > 0)) throw new UsageError("--timeout must be milliseconds");
    const nc = await connectClient(values.nats, "switchyard-reload");
    try {
      const outcome = await requestReload(nc, values.prefix ?? DEFAULT_PREFIX, plugin, {
        timeoutMs,
        onReply: (reply) => {
          if (reply.status === "accepted") print(`${reply.supervisor}: reloading ${plugin}…`);
          const r = reply.report;
          if (reply.status === "done" && r !== undefined) {
            print(`${reply.supervisor}: ${plugin} reloaded${r.version === undefined ? "" : ` (version ${r.version})`}: new instances ${r.instances.join(", ")} ready in ${r.readyMs} ms, old ones drained in ${r.totalMs} ms`);
          }
          if (reply.status === "failed") printError(`${reply.supervisor}: reload of ${plugin} failed, the running instances keep serving: ${r?.error ?? "unknown reason"}`);
        },
      });
      if (outcome.accepted.length === 0) {
        printError(`No supervisor runs "${plugin}" (see ${cliCommand()} ps).`);
        return 1;
      }
      if (outcome.timedOut) printError(`Gave up waiting after ${timeoutMs} ms.`);
      return !outcome.timedOut && outcome.finals.every((f) => f.status === "done") ? 0 : 1;
    } finally {
      await nc.close();
    }
  },
};
