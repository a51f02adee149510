import { META_RUNTIME, META_HOST } from "../bus/mod.ts";
import { NATS_FLAG, NATS_HELP, parseFlags, print } from "./command.ts";
import type { Command } from "./command.ts";
import { collectInstances, connectClient } from "./bus_client.ts";

export const lsCommand: Command = {
  name: "ls",
  summary: "list plugin instances on the bus (no router needed)",
  usage: `Usage: switchyard ls [plugin] [--nats URL] [--json]

Asks every service on the bus for its NATS micro INFO and lists the Switchyard plugins.
${NATS_HELP}
  --json              print the INFO documents as JSON`,
  async run(argv) {
    const { values, positionals } = parseFlags(argv, { ...NATS_FLAG, json: { type: "boolean" } });
    const nc = await connectClient(values.nats, "switchyard-ls");
    try {
      const instances = await collectInstances(nc, positionals[0]);
      if (values.json) {
        print(JSON.stringify(instances, null, 2));
        return 0;
      }
      if (instances.length === 0) {
        print("No plugin instances found.");
        return 0;
      }
      const rows = [["PLUGIN", "VERSION", "INSTANCE", "RUNTIME", "HOST", "METHODS"]];
      for (const i of instances) {
        rows.push([i.name, i.version, i.id, i.metadata[META_RUNTIME] ?? "", i.metadata[META_HOST] ?? "", i.endpoints.map((e) => e.name).join(",")]);
      }
      const widths = rows[0]!.map((_, col) => Math.max(...rows.map((r) => r[col]!.length)));
      for (const row of rows) print(row.map((cell, col) => cell.padEnd(widths[col]!)).join("  ").trimEnd());
      return 0;
    } finally {
      await nc.close();
    }
  },
};
