/**
 * `requestInChunks` with an input read as it is sent (a `BodySource`, as the router streams a large
 * HTTP body), against a real nats-server (default 1 MiB max_payload) and a hand-made instance that
 * acknowledges each chunk as docs/protocol.md says.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import type { Msg, NatsConnection, Subscription } from "@nats-io/nats-core";
import {
  connectBus,
  H_BYTES,
  H_CANCEL,
  H_END,
  H_INSTANCE,
  H_SEQ,
  H_STREAM,
  isBusError,
  readHeaders,
  requestInChunks,
  RequestMux,
  UNSIZED,
  WireHeaders,
} from "../../src/bus/mod.ts";
import type { BodySource, BusReply } from "../../src/bus/mod.ts";
import { codeOf, ErrorCode, SwitchyardError } from "../../src/errors.ts";
import { systemClock } from "../../src/deps.ts";
import { startNatsServer, waitFor } from "../../src/testing/mod.ts";
import type { NatsServer } from "../../src/testing/mod.ts";

const MIB = 1024 * 1024;
const SIZE = 5 * MIB + 123;
const SUBJECT = "sy.up.1_0_0.take";
const SESSION = "sy.$i.up.inst1.$s.S1";

let server: NatsServer;
let nc: NatsConnection;
let mux: RequestMux;
before(async () => {
  server = await startNatsServer();
  nc = await connectBus({ servers: [server.url] });
  mux = new RequestMux(nc);
});
after(async () => {
  await nc.close();
  await server.stop();
});

/** A source that logs each read, and throws at `failAt` when given. */
function source(log: string[], failAt?: number): BodySource & { reads: number[] } {
  const reads: number[] = [];
  return {
    size: SIZE,
    ended: false,
    reads,
    read(at, n) {
      reads.push(at);
      log.push(`read ${at}`);
      if (at === failAt) {
        return Promise.reject(new SwitchyardError(ErrorCode.RequestTimeout, "the client stopped sending"));
      }
      return Promise.resolve(new Uint8Array(Math.min(n, SIZE - at)).fill(at % 251));
    },
  };
}

/** An instance that takes an input in chunks: acks each but the last, answers the last with `{"bytes":n}`. */
function instance(
  log: string[],
  options: { goneAfterFirst?: boolean } = {},
): { subs: Subscription[]; cancels: string[]; headers: string[] } {
  const cancels: string[] = [];
  /** `sy-bytes` of each request. */
  const headers: string[] = [];
  let got = 0;
  const reply = (msg: Msg, seq: number, data: Uint8Array) => {
    const h = new WireHeaders();
    h.set(H_INSTANCE, "inst1");
    h.set(H_STREAM, "S1");
    h.set(H_SEQ, String(seq));
    msg.respond(data, { headers: h });
  };
  let total = 0;
  const take = (msg: Msg, seq: number, last: boolean) => {
    got += msg.data.length;
    log.push(`got ${seq}${last ? " end" : ""}`);
    if (!last) reply(msg, seq, new Uint8Array(0));
    else reply(msg, seq, new TextEncoder().encode(`{"bytes":${got}}`));
  };
  const session = nc.subscribe(SESSION, {
    callback: (_err, msg) => {
      const h = readHeaders(msg);
      const cancel = h?.get(H_CANCEL);
      if (cancel) return void cancels.push(cancel);
      const end = h?.get(H_END) === "1";
      take(msg, Number(h?.get(H_SEQ)), total === -1 ? end : got + msg.data.length >= total);
    },
  });
  const first = nc.subscribe(SUBJECT, {
    max: 1,
    callback: (_err, msg) => {
      const bytes = readHeaders(msg)?.get(H_BYTES);
      headers.push(bytes ?? "");
      total = bytes === UNSIZED ? -1 : Number(bytes);
      take(msg, 0, total !== -1 && msg.data.length >= total);
      if (options.goneAfterFirst) session.unsubscribe();
    },
  });
  return { subs: [session, first], cancels, headers };
}

const send = (data: BodySource | Uint8Array) =>
  requestInChunks(mux, { subject: SUBJECT, data, headers: new WireHeaders() }, {
    timeoutMs: 10_000,
    clock: systemClock,
    session: () => SESSION,
  });

test("a body source is read one chunk at a time, each only after the chunk before it was taken", async () => {
  const log: string[] = [];
  const { subs } = instance(log);
  await nc.flush();
  const body = source(log);
  const reply: BusReply = await send(body);
  for (const s of subs) s.unsubscribe();
  assert.equal(new TextDecoder().decode(reply.data), `{"bytes":${SIZE}}`);
  assert.ok(body.reads.length >= 6, `${body.reads.length} reads`);
  // read 0, got 0, read k, got k, ...: never two reads in a row.
  for (let i = 0; i < log.length; i++) {
    assert.equal(log[i]!.split(" ")[0], i % 2 === 0 ? "read" : "got", log.join(", "));
  }
  assert.deepEqual(body.reads, [...body.reads].sort((a, b) => a - b));
});

test("a source that fails after the first chunk cancels the session at the instance", async () => {
  const log: string[] = [];
  const { subs, cancels } = instance(log);
  await nc.flush();
  const body = source(log);
  const second = 2 * MIB;
  await assert.rejects(
    send({ size: body.size, ended: false, read: (at, n) => at >= second ? source(log, at).read(at, n) : body.read(at, n) }),
    (err: unknown) => {
      assert.equal(codeOf(err), ErrorCode.RequestTimeout);
      return true;
    },
  );
  await waitFor(() => cancels.length === 1, { timeoutMs: 5_000, message: "the cancel at the instance" });
  for (const s of subs) s.unsubscribe();
  assert.match(cancels[0]!, /the client stopped sending/);
});

test("an instance gone after it took the first chunk: lost (never resent) for a source, no responders (resent) for bytes in memory", async () => {
  for (const [data, failure] of [[source([]), "lost"], [new Uint8Array(SIZE), "no_responders"]] as const) {
    const { subs } = instance([], { goneAfterFirst: true });
    await nc.flush();
    await assert.rejects(send(data), (err: unknown) => {
      assert.ok(isBusError(err), String(err));
      assert.equal(err.failure, failure);
      assert.equal(err.unsent, failure === "no_responders");
      return true;
    });
    for (const s of subs) s.unsubscribe();
  }
});

/** A source of `size` bytes that does not say its size: it finds its end as it reads, as an HTTP body without `Content-Length`. */
function unsizedSource(log: string[], size: number): BodySource {
  let taken = 0;
  return {
    size: undefined,
    get ended() {
      return taken >= size;
    },
    read(at, n) {
      log.push(`read ${at}`);
      const bytes = new Uint8Array(Math.min(n, size - at)).fill(at % 251);
      taken = at + bytes.length;
      return Promise.resolve(bytes);
    },
  };
}

test("a source of unknown size goes as sy-bytes: *, its last chunk (and only that one) marked sy-end", async () => {
  const log: string[] = [];
  const { subs, headers } = instance(log);
  await nc.flush();
  const reply = await send(unsizedSource(log, SIZE));
  for (const s of subs) s.unsubscribe();
  assert.equal(new TextDecoder().decode(reply.data), `{"bytes":${SIZE}}`);
  assert.deepEqual(headers, [UNSIZED]);
  const got = log.filter((l) => l.startsWith("got"));
  assert.ok(got.length >= 6, log.join(", "));
  assert.deepEqual(got.filter((l) => l.endsWith(" end")), [got.at(-1)]);
});

test("a source of unknown size that ends within the first chunk goes as one message of known size", async () => {
  const log: string[] = [];
  const { subs, headers } = instance(log);
  await nc.flush();
  const reply = await send(unsizedSource(log, 1000));
  for (const s of subs) s.unsubscribe();
  assert.equal(new TextDecoder().decode(reply.data), `{"bytes":1000}`);
  assert.deepEqual(headers, ["1000"]);
  assert.deepEqual(log, ["read 0", "got 0 end"]);
});
