import { PLUGIN_NAME, SRV_PREFIX } from "../bus/mod.ts";
import { NATS_FLAG, NATS_HELP, parseFlags, print, printError, UsageError } from "./command.ts";
import type { Command } from "./command.ts";
import { connectClient } from "./bus_client.ts";

export const pingCommand: Command = {
  name: "ping",
  summary: "exit 0 when an instance of a plugin answers (a health check)",
  usage: `Usage: switchyard ping <plugin> [--instance-id ID] [--nats URL] [--timeout MS]

Sends NATS micro $SRV.PING.<plugin>[.<id>]; exits 0 on an answer, 1 otherwise.
${NATS_HELP}
  --instance-id ID    ping this instance only
  --timeout MS        how long to wait (default 2000)`,
  async run(argv) {
    const { values, positionals } = parseFlags(argv, {
      ...NATS_FLAG,
      "instance-id": { type: "string" },
      timeout: { type: "string" },
    });
    const plugin = positionals[0];
    if (plugin === undefined || !PLUGIN_NAME.test(plugin)) throw new UsageError("Name a plugin, e.g. switchyard ping hello");
    const id = values["instance-id"];
    if (id !== undefined && !/^[A-Za-z0-9_-]{1,64}$/.test(id)) throw new UsageError("Malformed --instance-id");
    const nc = await connectClient(values.nats, "switchyard-ping");
    try {
      const subject = `${SRV_PREFIX}.PING.${plugin}${id === undefined ? "" : `.${id}`}`;
      const reply = await nc.request(subject, undefined, { timeout: Number(values.timeout ?? 2_000) });
      print(reply.string());
      return 0;
    } catch (err) {
      printError(`No answer from "${plugin}": ${(err as Error).message}`);
      return 1;
    } finally {
      await nc.close();
    }
  },
};
