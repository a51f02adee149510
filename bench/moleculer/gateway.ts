/**
 * Peer for the "moleculer" scenario: a Moleculer node running moleculer-web's API gateway with one
 * alias, `POST /v1/hello/greet` → `hello.greet` (JSON body parser on, as a JSON API needs), calling
 * the service node over the NATS transporter. moleculer-web's defaults otherwise, except its
 * per-request log lines (`logRequest`, `logResponse`: info), turned off as Switchyard's router
 * writes none by default either. Prints its ready line once `hello` is discovered.
 *
 *   node bench/moleculer/gateway.ts --nats nats://127.0.0.1:4222 --port 8080
 * @module
 */
import process from "node:process";
import { parseArgs } from "node:util";
import { ServiceBroker } from "moleculer";
import ApiGateway from "moleculer-web";

const { values } = parseArgs({
  args: process.argv.slice(2),
  options: {
    nats: { type: "string", default: "nats://127.0.0.1:4222" },
    port: { type: "string", default: "3000" },
  },
});

const broker = new ServiceBroker({
  nodeID: `gateway-${process.pid}`,
  transporter: { type: "NATS", options: { url: values.nats } },
});

broker.createService({
  name: "api",
  mixins: [ApiGateway],
  settings: {
    port: Number(values.port),
    ip: "127.0.0.1",
    logRequest: null,
    logResponse: null,
    routes: [
      {
        path: "/v1",
        mappingPolicy: "restrict",
        aliases: { "POST hello/greet": "hello.greet" },
        bodyParsers: { json: true },
      },
    ],
  },
});

await broker.start();
await broker.waitForServices(["hello"], 20_000);
process.stdout.write(`${JSON.stringify({ msg: "moleculer gateway ready", port: Number(values.port) })}\n`);
process.on("SIGTERM", () => {
  broker.stop().finally(() => process.exit(0));
});
