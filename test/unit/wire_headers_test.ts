import { test } from "node:test";
import assert from "node:assert/strict";
import { headers as natsHeaders, Match, MsgHdrsImpl } from "@nats-io/nats-core";
import type { Msg } from "@nats-io/nats-core";
import { connectBus, readHeaders, WireHeaders } from "../../src/bus/mod.ts";
import { deferred, startNatsServer } from "../../src/testing/mod.ts";

test("WireHeaders.encode() is what nats.js decodes, and WireHeaders.decode() reads what nats.js encodes", () => {
  const ours = new WireHeaders();
  ours.set("sy-request-id", "r-1");
  ours.set("sy-deadline", "1700000000000");
  ours.append("multi", "a");
  ours.append("multi", "b");
  const theirs = MsgHdrsImpl.decode(ours.encode());
  assert.equal(theirs.get("sy-request-id"), "r-1");
  assert.equal(theirs.get("sy-deadline"), "1700000000000");
  assert.deepEqual(theirs.values("multi"), ["a", "b"]);

  const native = natsHeaders(503, "No Responders");
  native.set("Nats-Service-Error-Code", "500");
  native.set("X-Odd", " spaced value ");
  const back = WireHeaders.decode((native as MsgHdrsImpl).encode());
  assert.equal(back.code, 503);
  assert.equal(back.description, "No Responders");
  assert.equal(back.hasError, true);
  assert.equal(back.get("Nats-Service-Error-Code"), "500");
  assert.equal(back.get("x-odd"), "", "exact match by default, as nats.js");
  assert.equal(back.get("x-odd", Match.IgnoreCase), "spaced value");
});

test("WireHeaders refuses CR/LF in values and bad names, so a header can never inject protocol lines", () => {
  const h = new WireHeaders();
  assert.throws(() => h.set("sy-request-id", "x\r\nPUB evil 0"), TypeError);
  assert.throws(() => h.set("bad name", "x"), TypeError);
  assert.throws(() => h.set("bad:name", "x"), TypeError);
  assert.equal(h.keys().length, 0);
});

test("WireHeaders set() replaces, delete() removes, and the encoding is cached until a change", () => {
  const h = new WireHeaders();
  h.set("a", "1");
  const first = h.encode();
  assert.equal(h.encode(), first, "cached");
  h.set("a", "2");
  assert.notEqual(h.encode(), first);
  assert.deepEqual(h.values("a"), ["2"]);
  h.append("b", "x");
  h.delete("a");
  assert.deepEqual(h.keys(), ["b"]);
  assert.deepEqual([...h], [["b", ["x"]]]);
  assert.equal(new TextDecoder().decode(h.encode()), "NATS/1.0\r\nb: x\r\n\r\n");
});

test("readHeaders() decodes a received message's headers from its raw bytes, the same as msg.headers", async () => {
  await using server = await startNatsServer();
  const nc = await connectBus({ servers: [server.url] });
  try {
    const got = deferred<Msg>();
    nc.subscribe("h", { callback: (_e, m) => got.resolve(m) });
    const sent = new WireHeaders();
    sent.set("sy-request-id", "abc");
    sent.set("traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
    nc.publish("h", "{}", { headers: sent });
    const msg = await got.promise;
    assert.ok("_rdata" in msg && "_msg" in msg, "nats.js's MsgImpl still keeps the raw bytes readHeaders() reads");
    const h = readHeaders(msg)!;
    assert.equal(h.get("sy-request-id"), "abc");
    assert.equal(h.get("traceparent"), msg.headers!.get("traceparent"));
    assert.equal(new TextDecoder().decode(msg.data), "{}");
    assert.equal(readHeaders({ headers: undefined } as unknown as Msg), undefined);
  } finally {
    await nc.close();
  }
});
