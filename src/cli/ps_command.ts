import { requestPs } from "../supervisor/mod.ts";
import { DEFAULT_PREFIX } from "../bus/mod.ts";
import { NATS_FLAG, NATS_HELP, parseFlags, print } from "./command.ts";
import type { Command } from "./command.ts";
import { connectClient } from "./bus_client.ts";

export const psCommand: Command = {
  name: "ps",
  summary: "list the instances the supervisors on the bus run (pids, uptime, restarts)",
  usage: `Usage: switchyard ps [--nats URL] [--prefix P] [--json]

Asks every supervisor (switchyard up or dev) on the bus over <prefix>.$sup.ps and lists its
instances: plugin, instance id, pid, runtime, version, state, uptime, restarts.
${NATS_HELP}
  --prefix P          subject prefix (default: sy)
  --json              print the supervisors' answers as JSON`,
  async run(argv) {
    const { values } = parseFlags(argv, { ...NATS_FLAG, prefix: { type: "string" }, json: { type: "boolean" } });
    const nc = await connectClient(values.nats, "switchyard-ps");
    try {
      const supervisors = await requestPs(nc, values.prefix ?? DEFAULT_PREFIX);
      if (values.json) {
        print(JSON.stringify(supervisors, null, 2));
        return 0;
      }
      if (supervisors.length === 0) {
        print("No supervisor answered (is switchyard up or dev running on this bus?).");
        return 1;
      }
      const rows = [["SUPERVISOR", "PLUGIN", "INSTANCE", "PID", "RUNTIME", "VERSION", "STATE", "UPTIME", "RESTARTS"]];
      for (const s of supervisors) {
        for (const i of s.instances) {
          rows.push([
            s.supervisor.id,
            i.plugin,
            i.id ?? "-",
            i.pid === undefined ? "-" : String(i.pid),
            i.runtime,
            i.version ?? "-",
            i.state,
            i.id === undefined ? "-" : formatUptime(i.uptimeMs),
            String(i.restarts),
          ]);
        }
      }
      const widths = rows[0]!.map((_, col) => Math.max(...rows.map((r) => r[col]!.length)));
      for (const row of rows) print(row.map((cell, col) => cell.padEnd(widths[col]!)).join("  ").trimEnd());
      return 0;
    } finally {
      await nc.close();
    }
  },
};

/** `45s`, `5m03s`, `2h07m`, `3d04h`. */
export function formatUptime(ms: number): string {
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(s % 60).padStart(2, "0")}s`;
  const h = Math.floor(m / 60);
  if (h < 24) return `${h}h${String(m % 60).padStart(2, "0")}m`;
  return `${Math.floor(h / 24)}d${String(h % 24).padStart(2, "0")}h`;
}
