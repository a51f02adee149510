/**
 * The streaming benchmark's floor: the same items the ticker plugin streams (`{"i":0}`, …), one per
 * message on raw NATS, no flow control and no HTTP. `--role pub` publishes `n` items to the subject
 * when `<subject>.go` (payload: n) arrives, then `<subject>.end` (payload: n); `--role sub` checks
 * each item is the next one and prints `floor done` (or `floor failed`) at the end. One publisher to
 * one subscriber on one server keeps their order.
 *
 *   <runtime> bench/streaming/floor_stream.ts --role pub|sub --nats URL [--subject floor.stream]
 * @module
 */
import process from "node:process";
import { parseArgs } from "node:util";
import { connect } from "@nats-io/transport-node";

const { values } = parseArgs({
  args: process.argv.slice(2),
  options: {
    role: { type: "string", default: "sub" },
    nats: { type: "string", default: "nats://127.0.0.1:4222" },
    subject: { type: "string", default: "floor.stream" },
  },
});
const subject = values.subject;
const encoder = new TextEncoder();
const decoder = new TextDecoder();
/** Publishes are flushed to the server every so many, so the client's buffer stays bounded. */
const FLUSH_EVERY = 8_192;
const say = (msg: string, attrs: Record<string, unknown> = {}) => process.stdout.write(`${JSON.stringify({ msg, ...attrs })}\n`);

const nc = await connect({ servers: values.nats, noAsyncTraces: true, name: `floor-stream-${values.role}` });
if (values.role === "pub") {
  const publish = async (n: number) => {
    for (let i = 0; i < n; i++) {
      nc.publish(subject, encoder.encode(`{"i":${i}}`));
      if (i % FLUSH_EVERY === FLUSH_EVERY - 1) await nc.flush();
    }
    nc.publish(`${subject}.end`, encoder.encode(String(n)));
    await nc.flush();
  };
  nc.subscribe(`${subject}.go`, {
    callback: (err, msg) => {
      if (err === null) void publish(Number(decoder.decode(msg.data)));
    },
  });
} else {
  let expected = 0;
  let started = 0;
  let wrong = "";
  nc.subscribe(subject, {
    callback: (err, msg) => {
      if (err !== null) return;
      const item = JSON.parse(decoder.decode(msg.data)) as { i: number };
      if (item.i === 0) {
        expected = 0;
        wrong = "";
        started = performance.now();
      }
      if (item.i !== expected && wrong === "") wrong = `item ${expected} was ${JSON.stringify(item)}`;
      expected++;
    },
  });
  nc.subscribe(`${subject}.end`, {
    callback: (err, msg) => {
      if (err !== null) return;
      const n = Number(decoder.decode(msg.data));
      if (wrong === "" && expected === n) say("floor done", { items: n, ms: performance.now() - started });
      else say("floor failed", { items: expected, expected: n, wrong });
      expected = 0;
    },
  });
}
await nc.flush();
say(`floor ${values.role} ready`);

process.on("SIGTERM", () => {
  nc.drain().finally(() => process.exit(0));
});
