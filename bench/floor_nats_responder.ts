/**
 * Floor: a bare NATS responder. Subscribes to one subject in a queue group with a callback and
 * answers every request with a small fixed JSON. No SDK, no validation: the cheapest possible plugin.
 *
 *   <runtime> bench/floor_nats_responder.ts --nats nats://127.0.0.1:4222 [--subject floor.hello.greet]
 * @module
 */
import process from "node:process";
import { parseArgs } from "node:util";
import { connect } from "@nats-io/transport-node";

const { values } = parseArgs({
  args: process.argv.slice(2),
  options: {
    nats: { type: "string", default: "nats://127.0.0.1:4222" },
    subject: { type: "string", default: "floor.hello.greet" },
    queue: { type: "string", default: "floor" },
  },
});

const REPLY = new TextEncoder().encode(JSON.stringify({ message: "Hello, World" }));

const nc = await connect({ servers: values.nats, noAsyncTraces: true, name: "floor-responder" });
nc.subscribe(values.subject, {
  queue: values.queue,
  callback: (err, msg) => {
    if (err === null) msg.respond(REPLY);
  },
});
await nc.flush();
process.stdout.write(`${JSON.stringify({ msg: "responder ready", subject: values.subject })}\n`);

process.on("SIGTERM", () => {
  nc.drain().finally(() => process.exit(0));
});
