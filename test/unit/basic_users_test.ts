import { test } from "node:test";
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { FairQueue } from "../../src/auth/fair_queue.ts";
import { BasicUsers, hashPassword, parsePasswordHash, verifyPassword } from "../../src/auth/mod.ts";
import { deferred, FakeClock, waitFor } from "../../src/testing/mod.ts";
import type { Deferred } from "../../src/testing/mod.ts";

const isOverloaded = (err: unknown) => (err as { code?: string }).code === "overloaded";

test("FairQueue.run() serves waiting keys in turn: a flood under one key does not hold back another", async () => {
  const clock = new FakeClock();
  const q = new FairQueue({
    concurrency: 1,
    maxWaiting: 100,
    maxWaitingPerKey: 100,
    maxWaitMs: 60_000,
    clock,
  });
  const gates: Deferred<void>[] = [];
  const order: string[] = [];
  const task = (name: string) => () => {
    order.push(name);
    const gate = deferred();
    gates.push(gate);
    return gate.promise.then(() => name);
  };
  const done = [
    q.run("alice", task("a1")),
    q.run("alice", task("a2")),
    q.run("alice", task("a3")),
    q.run("alice", task("a4")),
    q.run("bob", task("b1")),
  ];
  assert.deepEqual([q.running, q.waiting], [1, 4]);
  for (let i = 0; i < 5; i++) {
    await waitFor(() => gates.length > i, { message: `task ${i + 1} to start` });
    gates[i]!.resolve();
  }
  await Promise.all(done);
  assert.deepEqual(
    order,
    ["a1", "a2", "b1", "a3", "a4"],
    "bob runs after one turn of alice, not after her flood",
  );
});

test("FairQueue.run() refuses with overloaded past the per-key and total bounds, and after maxWaitMs", async () => {
  const clock = new FakeClock();
  const q = new FairQueue({ concurrency: 1, maxWaiting: 3, maxWaitingPerKey: 2, maxWaitMs: 1_000, clock });
  const hold = deferred();
  const running = q.run("x", () => hold.promise);
  const w1 = q.run("a", () => Promise.resolve(1));
  const w2 = q.run("a", () => Promise.resolve(2));
  await assert.rejects(q.run("a", () => Promise.resolve(3)), isOverloaded, "third waiting under one key");
  const w3 = q.run("b", () => Promise.resolve(4));
  await assert.rejects(q.run("c", () => Promise.resolve(5)), isOverloaded, "fourth waiting in all");
  clock.tick(1_000);
  for (const w of [w1, w2, w3]) await assert.rejects(w, isOverloaded, "waited too long");
  assert.equal(q.waiting, 0);
  hold.resolve();
  await running;
  assert.equal(await q.run("a", () => Promise.resolve(6)), 6, "free again");
});

test("BasicUsers.verify() remembers a refusal, and shares one check among identical credentials", async () => {
  const clock = new FakeClock(Date.now());
  const users = new BasicUsers(
    [{ username: "alice", hash: await hashPassword("wonderland", 10), roles: [] }],
    { clock, ttlMs: 60_000, cacheSize: 100 },
  );
  const creds = (u: string, p: string) => Buffer.from(`${u}:${p}`).toString("base64");
  const [a, b] = [users.verify(creds("alice", "wonderland")), users.verify(creds("alice", "wonderland"))];
  assert.equal(a, b, "one check for both");
  assert.equal((await a)?.principal.id, "alice");
  const wrong = creds("alice", "nope");
  assert.equal(await users.verify(wrong), undefined);
  const t0 = performance.now();
  for (let i = 0; i < 1_000; i++) assert.equal(await users.verify(wrong), undefined);
  assert.ok(performance.now() - t0 < 500, "a remembered refusal costs no scrypt");
  clock.tick(60_000);
  assert.equal(await users.verify(wrong), undefined, "checked again after the TTL");
});

test("BasicUsers: an unknown username costs what a known one costs (the decoy has the users' scrypt cost)", async () => {
  const clock = new FakeClock(Date.now());
  const users = new BasicUsers([{ username: "alice", hash: await hashPassword("wonderland", 10), roles: [] }], { clock, ttlMs: 0, cacheSize: 0 });
  const creds = (u: string) => Buffer.from(`${u}:${Math.random()}`).toString("base64");
  const median = async (fn: () => Promise<unknown>) => {
    const times: number[] = [];
    for (let i = 0; i < 7; i++) {
      const t0 = performance.now();
      await fn();
      times.push(performance.now() - t0);
    }
    return times.sort((a, b) => a - b)[3]!;
  };
  const known = await median(() => users.verify(creds("alice")));
  const unknown = await median(() => users.verify(creds("nobody")));
  const atDefaultCost = await median(async () => verifyPassword("x", parsePasswordHash(await defaultHash)));
  // ln=10 is 1/32 of the default ln=15: a decoy at the default cost would be about as slow as the last.
  assert.ok(unknown < atDefaultCost / 4, `unknown ${unknown.toFixed(1)} ms vs ${atDefaultCost.toFixed(1)} ms at ln=15`);
  assert.ok(unknown < known * 4 + 5 && known < unknown * 4 + 5, `unknown ${unknown.toFixed(1)} ms, known ${known.toFixed(1)} ms`);
});
const defaultHash = hashPassword("x");
