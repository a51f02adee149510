import { test } from "node:test";
import assert from "node:assert/strict";
import type { Msg, NatsConnection } from "@nats-io/nats-core";
import {
  connectBus,
  H_CANCEL,
  H_END,
  H_SEQ,
  H_STREAM,
  readHeaders,
  replyOf,
  RequestMux,
  StreamPull,
  WireHeaders,
} from "../../src/bus/mod.ts";
import { systemClock } from "../../src/deps.ts";
import { startNatsServer, waitFor } from "../../src/testing/mod.ts";

const SUBJECT = "sy.$i.p.inst.$s.abc";
const enc = new TextEncoder();
const EMPTY = new Uint8Array(0);

/** An instance played by the test: it records pulls and cancels, and answers when told. */
function fakeInstance(nc: NatsConnection) {
  const pulls: Msg[] = [];
  const cancels: string[] = [];
  nc.subscribe(SUBJECT, {
    callback: (_e, m) => {
      const cancel = readHeaders(m)?.get(H_CANCEL);
      if (cancel) cancels.push(cancel);
      else pulls.push(m);
    },
  });
  const answer = (pull: Msg, seq: number, data: string, end = false) => {
    const h = new WireHeaders();
    h.set(H_STREAM, "abc");
    h.set(H_SEQ, String(seq));
    if (end) h.set(H_END, "1");
    pull.respond(enc.encode(data), { headers: h });
  };
  return { pulls, cancels, answer };
}

function first(): ReturnType<typeof replyOf> {
  const h = new WireHeaders();
  h.set(H_STREAM, "abc");
  h.set(H_SEQ, "0");
  return replyOf(enc.encode('{"i":0}'), h);
}

async function setup() {
  const server = await startNatsServer();
  const nc = await connectBus({ servers: [server.url] });
  const mux = new RequestMux(nc);
  const instance = fakeInstance(nc);
  await nc.flush();
  return {
    mux,
    instance,
    async [Symbol.asyncDispose]() {
      mux.close();
      await nc.close();
      await server.stop();
    },
  };
}

const options = (window: number, idleMs = 0) => ({
  subject: SUBJECT,
  window,
  deadline: Date.now() + 10_000,
  idleMs,
  clock: systemClock,
});

test("StreamPull keeps at most `window` messages pulled and not taken: a new pull only when one is taken", async () => {
  await using t = await setup();
  const pull = new StreamPull(t.mux, first(), options(3));
  // The consumer holds message 0: two more may be pulled.
  assert.equal(t.mux.size, 2);
  await waitFor(() => t.instance.pulls.length === 2);
  const next = pull.next();
  assert.equal(t.mux.size, 3, "the consumer asked for one: the window is full");
  t.instance.answer(t.instance.pulls[0]!, 1, '{"i":1}');
  assert.equal((await next)?.headers?.get(H_SEQ), "1");
  assert.equal(t.mux.size, 2, "no pull until the consumer takes the next");
  await waitFor(() => t.instance.pulls.length === 3);
  // Answers come in order of the pulls; the last one ends the stream and drops the pulls left.
  const more = pull.next();
  t.instance.answer(t.instance.pulls[1]!, 2, '{"i":2}');
  assert.equal(new TextDecoder().decode((await more)!.data), '{"i":2}');
  const last = pull.next();
  t.instance.answer(t.instance.pulls[2]!, 3, "", true);
  assert.equal((await last)?.headers?.get(H_END), "1");
  assert.equal(pull.done, true);
  assert.equal(await pull.next(), undefined);
  assert.equal(t.mux.size, 0, "the pulls left were dropped");
  assert.deepEqual(t.instance.cancels, [], "a stream that ended is not cancelled");
});

test("StreamPull ends a stream whose messages come out of sequence with bad_plugin_response, and cancels it", async () => {
  await using t = await setup();
  const pull = new StreamPull(t.mux, first(), options(2));
  await waitFor(() => t.instance.pulls.length === 1);
  const next = pull.next();
  t.instance.answer(t.instance.pulls[0]!, 2, '{"i":2}');
  await assert.rejects(next, { code: "bad_plugin_response" });
  await waitFor(() => t.instance.cancels.length === 1);
  assert.deepEqual(t.instance.cancels, ["out of sequence"]);
  assert.equal(t.mux.size, 0);
});

test("StreamPull.cancel() tells the instance why, and a waiting next() throws what it was given", async () => {
  await using t = await setup();
  const pull = new StreamPull(t.mux, first(), options(4));
  const waiting = pull.next();
  pull.cancel("the client went away", new Error("gone"));
  await assert.rejects(waiting, { message: "gone" });
  await waitFor(() => t.instance.cancels.length === 1);
  assert.deepEqual(t.instance.cancels, ["the client went away"]);
  assert.equal(t.mux.size, 0);
  await assert.rejects(pull.next(), { message: "gone" });
});

test("StreamPull ends a stream with timeout when no message comes for idleMs", async () => {
  await using t = await setup();
  const pull = new StreamPull(t.mux, first(), options(2, 100));
  await assert.rejects(pull.next(), { code: "timeout" });
  await waitFor(() => t.instance.cancels.length === 1);
  assert.match(t.instance.cancels[0]!, /within 100 ms/);
});

test("StreamPull: a first message that ends the stream pulls nothing", async () => {
  await using t = await setup();
  const h = new WireHeaders();
  h.set(H_STREAM, "abc");
  h.set(H_SEQ, "0");
  h.set(H_END, "1");
  const pull = new StreamPull(t.mux, replyOf(EMPTY, h), options(8));
  assert.equal(pull.done, true);
  assert.equal(t.mux.size, 0);
  assert.equal(await pull.next(), undefined);
});
