/**
 * Simulated plugin instances for the discovery benchmark: one process answering on the bus for N
 * instances of P plugins, as N `switchyard plugin` processes would (see simulated_instances.ts).
 * Runs on Node, Bun and Deno.
 *
 *   <runtime> bench/discovery/sim_instances.ts --nats nats://127.0.0.1:4222 --instances 1000 [--plugins 10]
 *                                              [--prefix sy] [--report-polls]
 *
 * Prints `{"msg":"sim ready",…}` once every instance is subscribed and announced, and with
 * `--report-polls` one `{"msg":"sim polled","pings":k,"reply":…}` line per `$SRV.PING` broadcast (a
 * router's poll, or an announce router's first or full roll call) and one `{"msg":"sim roll call",…}`
 * line per `$SRV.PING.sim-00` (a router's roll call): stdout, not the bus, so the count adds nothing
 * to the traffic it measures. `reply` is the request's reply subject: the asking router's inbox.
 * @module
 */
import process from "node:process";
import { hostname } from "node:os";
import { parseArgs } from "node:util";
import { connectBus } from "../../src/bus/mod.ts";
import { currentRuntime } from "../../src/runtime/mod.ts";
import { simPlugin, simPluginNames } from "./sim_plugins.ts";
import { simulateInstances } from "./simulated_instances.ts";

const { values } = parseArgs({
  args: process.argv.slice(2),
  options: {
    nats: { type: "string", default: "nats://127.0.0.1:4222" },
    instances: { type: "string", default: "100" },
    plugins: { type: "string", default: "10" },
    prefix: { type: "string", default: "sy" },
    "report-polls": { type: "boolean", default: false },
  },
});
const instances = Number(values.instances);
if (!Number.isInteger(instances) || instances < 1) {
  throw new RangeError(`--instances must be a positive integer, got "${values.instances}"`);
}
const plugins = simPluginNames(Number(values.plugins)).map(simPlugin);

const write = (line: Record<string, unknown>) => process.stdout.write(`${JSON.stringify(line)}\n`);
const startedAt = performance.now();
let pings = 0;
let rollCalls = 0;
const nc = await connectBus({ servers: [values.nats], name: "sim-instances" });
const sim = await simulateInstances(nc, {
  plugins,
  instances,
  prefix: values.prefix,
  runtime: currentRuntime(),
  host: hostname(),
  ...(values["report-polls"]
    ? {
      onPing: (reply: string) => write({ msg: "sim polled", pings: ++pings, reply }),
      onNamePing: (reply: string) => write({ msg: "sim roll call", rollCalls: ++rollCalls, reply }),
    }
    : {}),
});
write({
  msg: "sim ready",
  instances,
  plugins: plugins.length,
  runtime: currentRuntime(),
  ms: Math.round(performance.now() - startedAt),
});

let stopping = false;
const stop = () => {
  if (stopping) process.exit(130);
  stopping = true;
  sim.stop().then(() => nc.drain()).finally(() => process.exit(0));
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
