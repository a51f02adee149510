import { test } from "node:test";
import assert from "node:assert/strict";
import { connectBus, RequestMux } from "../../src/bus/mod.ts";
import { deferred, FakeClock, startNatsServer } from "../../src/testing/mod.ts";
import type { Msg } from "@nats-io/nats-core";
import type { Clock } from "../../src/deps.ts";

const text = (r: { data: Uint8Array }) => new TextDecoder().decode(r.data);

test("RequestMux matches concurrent replies to their requests over one subscription", async () => {
  await using server = await startNatsServer();
  const nc = await connectBus({ servers: [server.url] });
  try {
    nc.subscribe("echo", {
      callback: (_e, m) => {
        setTimeout(() => m.respond(m.data), Math.random() * 5);
      },
    });
    const mux = new RequestMux(nc);
    const enc = new TextEncoder();
    const replies = await Promise.all(Array.from({ length: 200 }, (_, i) => mux.request("echo", enc.encode(`#${i}`), { timeoutMs: 30_000 })));
    assert.deepEqual(replies.map(text), Array.from({ length: 200 }, (_, i) => `#${i}`));
    assert.equal(mux.size, 0);
  } finally {
    await nc.close();
  }
});

test("RequestMux fails at once on no responders and on time with timeout", async () => {
  await using server = await startNatsServer();
  const nc = await connectBus({ servers: [server.url] });
  try {
    const mux = new RequestMux(nc);
    const t0 = performance.now();
    await assert.rejects(mux.request("nobody.home", new Uint8Array(), { timeoutMs: 5_000 }), { code: "plugin_unavailable", failure: "no_responders" });
    assert.ok(performance.now() - t0 < 1_000, "no-responders does not wait for the timeout");
    nc.subscribe("silent", { callback: () => {} });
    await assert.rejects(mux.request("silent", new Uint8Array(), { timeoutMs: 50 }), { code: "timeout", failure: "timeout", name: "BusTimeoutError" });
    assert.equal(mux.size, 0);
  } finally {
    await nc.close();
  }
});

test("RequestMux fails pending requests when the connection closes", async () => {
  await using server = await startNatsServer();
  const nc = await connectBus({ servers: [server.url] });
  nc.subscribe("silent", { callback: () => {} });
  const mux = new RequestMux(nc);
  await nc.flush();
  const pending = mux.request("silent", new Uint8Array(), { timeoutMs: 10_000 });
  await nc.close();
  await assert.rejects(pending, { code: "plugin_unavailable" });
});

test("RequestMux batches requests made while others are in flight, and each still fails or succeeds on its own", async () => {
  await using server = await startNatsServer();
  const nc = await connectBus({ servers: [server.url] });
  try {
    // "slow" answers only when the test says so: it is in flight for as long as the test needs.
    const held = deferred<Msg>();
    nc.subscribe("slow", { callback: (_e, m) => held.resolve(m) });
    nc.subscribe("echo", { callback: (_e, m) => void m.respond(m.data) });
    await nc.flush();
    const mux = new RequestMux(nc);
    const enc = new TextEncoder();
    const slow = mux.request("slow", enc.encode("s"), { timeoutMs: 60_000 }); // in flight: the next ones are batched
    let slowAnswered = false;
    void slow.then(() => slowAnswered = true, () => slowAnswered = true);
    const batched = await Promise.allSettled([
      mux.request("echo", enc.encode("a"), { timeoutMs: 60_000 }),
      mux.request("nobody.home", enc.encode("b"), { timeoutMs: 60_000 }),
      mux.request("echo", enc.encode("c"), { timeoutMs: 60_000 }),
    ]);
    assert.equal(slowAnswered, false, "batched requests do not wait for the slow one");
    (await held.promise).respond(enc.encode("s"));
    assert.equal(batched[0].status === "fulfilled" && text(batched[0].value), "a");
    assert.equal(batched[1].status === "rejected" && (batched[1].reason as { code: string }).code, "plugin_unavailable");
    assert.equal(batched[2].status === "fulfilled" && text(batched[2].value), "c");
    assert.equal(text(await slow), "s");
    assert.equal(mux.size, 0);
  } finally {
    await nc.close();
  }
});

test("RequestMux times out each request on its own deadline, whatever the others' timeouts", async () => {
  await using server = await startNatsServer();
  const nc = await connectBus({ servers: [server.url] });
  try {
    nc.subscribe("silent", { callback: () => {} });
    await nc.flush();
    const mux = new RequestMux(nc);
    const timed = (timeoutMs: number) => {
      const t0 = performance.now();
      return mux.request("silent", new Uint8Array(), { timeoutMs }).then(
        () => assert.fail("a silent subject never answers"),
        (err: { code: string }) => ({ code: err.code, timeoutMs, ms: performance.now() - t0 }),
      );
    };
    // Far apart, so the order holds whatever the machine's scheduling adds to each.
    const fired: number[] = [];
    const results = await Promise.all([timed(3_000), timed(40), timed(1_000), timed(40)].map((p) => p.then((r) => (fired.push(r.timeoutMs), r))));
    for (const r of results) {
      assert.equal(r.code, "timeout");
      assert.ok(r.ms >= r.timeoutMs - 1, `${r.timeoutMs} ms timeout fired after ${r.ms.toFixed(1)} ms`);
      assert.ok(r.ms < r.timeoutMs + 2_000, `${r.timeoutMs} ms timeout fired after ${r.ms.toFixed(1)} ms`);
    }
    assert.deepEqual(fired, [40, 40, 1_000, 3_000], "each on its own deadline, not the longest one");
    assert.equal(mux.size, 0);
  } finally {
    await nc.close();
  }
});

test("RequestMux arms one timer for the earliest deadline: requests with the same timeout arm nothing, an earlier deadline re-arms", async () => {
  await using server = await startNatsServer();
  const nc = await connectBus({ servers: [server.url] });
  try {
    nc.subscribe("silent", { callback: () => {} });
    await nc.flush();
    const clock = new FakeClock(1_000);
    let armed = 0;
    const counting: Clock = {
      now: () => clock.now(),
      setTimeout: (fn, ms) => (armed++, clock.setTimeout(fn, ms)),
      clearTimeout: (id) => clock.clearTimeout(id),
    };
    const mux = new RequestMux(nc, { clock: counting });
    const settled: string[] = [];
    const ask = (name: string, timeoutMs: number) =>
      mux.request("silent", new Uint8Array(), { timeoutMs }).catch((err: Error & { code?: string }) => void settled.push(`${name}:${err.code}`));
    const late = Array.from({ length: 50 }, (_, i) => (clock.tick(1), ask(`late${i}`, 10_000)));
    assert.equal(armed, 1, "fifty requests with the same timeout arm the timer once");
    assert.equal(clock.pending, 1);
    const early = ask("early", 100);
    assert.equal(armed, 2, "an earlier deadline re-arms");
    assert.equal(clock.pending, 1, "the timer armed before was cleared");
    clock.tick(99);
    await Promise.resolve();
    assert.deepEqual(settled, []);
    clock.tick(1);
    await early;
    assert.deepEqual(settled, ["early:timeout"]);
    assert.equal(mux.size, 50);
    assert.equal(clock.pending, 1, "re-armed for the earliest deadline left");
    clock.tick(11_001 - 1_150); // late0 was asked at 1_001 with 10 s
    await late[0];
    assert.deepEqual(settled, ["early:timeout", "late0:timeout"], "the first late request fails at its own deadline, the others not yet");
    clock.tick(49);
    await Promise.all(late);
    assert.equal(settled.length, 51);
    assert.equal(mux.size, 0);
    assert.equal(clock.pending, 0, "nothing pending: no timer");
  } finally {
    await nc.close();
  }
});
