/**
 * `bodyResponse`: a unary reply in chunks written to HTTP as the body is read, against a real
 * nats-server and a hand-made instance that answers each pull of its session with the next chunk.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import type { NatsConnection, Subscription } from "@nats-io/nats-core";
import {
  connectBus,
  H_BYTES,
  H_END,
  H_INSTANCE,
  H_SEQ,
  H_STREAM,
  RequestMux,
  WireHeaders,
} from "../../src/bus/mod.ts";
import type { BusReply } from "../../src/bus/mod.ts";
import { pipelineSettings, resolveConfig } from "../../src/config/mod.ts";
import { RequestPipeline, StreamCall } from "../../src/pipeline/mod.ts";
import type { Target } from "../../src/pipeline/mod.ts";
import { Registry } from "../../src/registry/mod.ts";
import { systemClock } from "../../src/deps.ts";
import { captureLogger, startNatsServer, waitFor } from "../../src/testing/mod.ts";
import type { NatsServer } from "../../src/testing/mod.ts";
import { ActiveStreams } from "../../src/router/active_streams.ts";
import { bodyResponse } from "../../src/router/body_response.ts";
import { ErrorCode, SwitchyardError } from "../../src/errors.ts";

const CHUNK = 1000;

let server: NatsServer;
let nc: NatsConnection;
let pipeline: RequestPipeline;
before(async () => {
  server = await startNatsServer();
  nc = await connectBus({ servers: [server.url] });
  pipeline = new RequestPipeline({
    registry: new Registry("sy"),
    mux: new RequestMux(nc),
    settings: pipelineSettings(resolveConfig({}, {})),
    clock: systemClock,
    logger: captureLogger(),
  });
});
after(async () => {
  pipeline.close();
  await nc.close();
  await server.stop();
});

let sessions = 0;

/**
 * A session serving `chunks` (message 0 is the first, returned as the request's reply would be);
 * the last says `sy-end`. `announced` is its `sy-bytes`.
 */
function serve(
  chunks: Uint8Array[],
  announced: number,
): { first: BusReply; pulls: () => number; sub: Subscription } {
  const id = `S${++sessions}`;
  let seq = 0;
  const headers = (n: number) => {
    const h = new WireHeaders();
    h.set(H_INSTANCE, "inst1");
    h.set(H_STREAM, id);
    h.set(H_SEQ, String(n));
    if (n === chunks.length - 1) h.set(H_END, "1");
    return h;
  };
  const sub = nc.subscribe(`sy.$i.up.inst1.$s.${id}`, {
    callback: (_err, msg) => {
      if (msg.reply === undefined || msg.reply === "") return; // a cancel
      seq++;
      if (seq < chunks.length) msg.respond(chunks[seq], { headers: headers(seq) });
    },
  });
  const h0 = headers(0);
  h0.set(H_BYTES, String(announced));
  return { first: { data: chunks[0]!, headers: h0, status: 0, code: "", stream: id }, pulls: () => seq, sub };
}

function respond(first: BusReply, total: number) {
  const logger = captureLogger();
  const streams = new ActiveStreams();
  const ends: string[] = [];
  const call = new StreamCall(pipeline, {
    target: { plugin: "up" } as Target,
    first,
    deadline: Date.now() + 30_000,
    idleMs: 10_000,
    window: 2,
  });
  const res = bodyResponse(call, {
    requestId: "r1",
    plugin: "up",
    total,
    headers: { "x-request-id": "r1" },
    idleMs: 10_000,
    streams,
    logger,
    onEnd: (code) => ends.push(code),
  });
  return { res, ends, logger, streams };
}

const chunks = (n: number) => Array.from({ length: n }, (_, i) => new Uint8Array(CHUNK).fill(65 + i));

test("the chunks are written as they are read, under content-length; the end is told once", async () => {
  const parts = chunks(6);
  const { first, pulls, sub } = serve(parts, 6 * CHUNK);
  const { res, ends, streams } = respond(first, 6 * CHUNK);
  assert.equal(res.headers.get("content-length"), String(6 * CHUNK));
  assert.equal(streams.size, 1);
  const reader = res.body!.getReader();
  const got: number[] = [];
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    got.push(value[0]!);
    // Pulled at most the window ahead of what was read.
    assert.ok(pulls() <= got.length + 1, `${pulls()} pulls after ${got.length} reads`);
  }
  sub.unsubscribe();
  assert.deepEqual(got, [65, 66, 67, 68, 69, 70]);
  assert.deepEqual(ends, [""]);
  assert.equal(streams.size, 0);
});

test("chunks that add up to more, or less, than announced cut the body: logged, and ended with the code", async () => {
  for (const [parts, announced] of [[chunks(4), 3 * CHUNK + 10], [chunks(3), 4 * CHUNK]] as const) {
    const { first, sub } = serve(parts, announced);
    const { res, ends, logger } = respond(first, announced);
    await assert.rejects(res.arrayBuffer());
    sub.unsubscribe();
    assert.deepEqual(ends, [ErrorCode.BadPluginResponse]);
    assert.deepEqual(logger.messages("warn"), ["reply body cut off"]);
  }
});

test("a drain that ends the response cuts the body and cancels the session", async () => {
  const { first, sub } = serve(chunks(5), 5 * CHUNK);
  let cancelled = false;
  const watch = nc.subscribe(`sy.$i.up.inst1.$s.${first.stream}`, {
    callback: (_err, msg) => void (cancelled ||= !msg.reply),
  });
  await nc.flush();
  const { res, ends, streams } = respond(first, 5 * CHUNK);
  const reader = res.body!.getReader();
  assert.equal((await reader.read()).value?.[0], 65);
  assert.equal(
    streams.abortWhere("up", () => new SwitchyardError(ErrorCode.Draining, "the router is draining")),
    1,
  );
  await assert.rejects(async () => {
    for (;;) if ((await reader.read()).done) return;
  });
  assert.deepEqual(ends, [ErrorCode.Draining]);
  await nc.flush();
  await waitFor(() => cancelled, { timeoutMs: 5_000, message: "the cancel at the instance" });
  sub.unsubscribe();
  watch.unsubscribe();
});
