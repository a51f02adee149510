/**
 * Peer for the "moleculer" scenario: a Moleculer node serving `hello.greet`, the same greeting as
 * plugins/hello, with its input checked by Moleculer's built-in validator (fastest-validator) to the
 * same rules (a string of 1 to 200 characters). Broker defaults otherwise: JSON serializer, NATS
 * transporter (driver: the `nats` 2.x package), no metrics, no tracing, no request timeout.
 *
 *   node bench/moleculer/hello_service.ts --nats nats://127.0.0.1:4222
 * @module
 */
import process from "node:process";
import { parseArgs } from "node:util";
import { ServiceBroker } from "moleculer";
import type { Context } from "moleculer";

const { values } = parseArgs({
  args: process.argv.slice(2),
  options: { nats: { type: "string", default: "nats://127.0.0.1:4222" } },
});

const broker = new ServiceBroker({
  nodeID: `hello-${process.pid}`,
  transporter: { type: "NATS", options: { url: values.nats } },
});

broker.createService({
  name: "hello",
  actions: {
    greet: {
      params: { name: { type: "string", min: 1, max: 200 } },
      handler(ctx: Context<{ name: string }>) {
        return { message: `Hello, ${ctx.params.name}` };
      },
    },
  },
});

await broker.start();
process.stdout.write(`${JSON.stringify({ msg: "moleculer service ready", node: broker.nodeID })}\n`);
process.on("SIGTERM", () => {
  broker.stop().finally(() => process.exit(0));
});
