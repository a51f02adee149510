import { test } from "node:test";
import assert from "node:assert/strict";
import { Bulkhead } from "../../src/resilience/mod.ts";
import { deferred, FakeClock } from "../../src/testing/mod.ts";

test("runs maxConcurrent at once, queues maxQueue, rejects the rest with 503 overloaded at once", async () => {
  const bulkhead = new Bulkhead("slow", { maxConcurrent: 2, maxQueue: 1 }, new FakeClock());
  const gates = Array.from({ length: 4 }, () => deferred<string>());
  let started = 0;
  const calls = gates.map((g) => bulkhead.execute(() => (started++, g.promise)));
  calls.forEach((c) => c.catch(() => {}));
  await assert.rejects(calls[3]!, (err: { code: string; status: number; retryAfter: number }) => {
    assert.equal(err.code, "overloaded");
    assert.equal(err.status, 503);
    assert.equal(err.retryAfter, 1);
    return true;
  });
  assert.equal(started, 2);
  assert.equal(bulkhead.running, 2);
  assert.equal(bulkhead.queued, 1);
  gates[0]!.resolve("a");
  assert.equal(await calls[0], "a");
  await Promise.resolve();
  assert.equal(started, 3, "the freed slot went to the waiter");
  assert.equal(bulkhead.queued, 0);
  gates[1]!.resolve("b");
  gates[2]!.resolve("c");
  assert.deepEqual(await Promise.all(calls.slice(1, 3)), ["b", "c"]);
  assert.equal(bulkhead.running, 0);
});

test("a queued call leaves with timeout at its deadline, on the clock", async () => {
  const clock = new FakeClock();
  const bulkhead = new Bulkhead("slow", { maxConcurrent: 1, maxQueue: 5 }, clock);
  assert.equal(bulkhead.tryAcquire(), true);
  assert.equal(bulkhead.tryAcquire(), false);
  assert.equal(bulkhead.canQueue(), true);
  const waiting = bulkhead.wait(100);
  waiting.catch(() => {});
  clock.tick(99);
  assert.equal(bulkhead.queued, 1);
  clock.tick(1);
  await assert.rejects(waiting, { code: "timeout" });
  assert.equal(bulkhead.queued, 0);
  bulkhead.release();
  assert.equal(bulkhead.running, 0);
});

test("an aborted signal takes a call out of the queue", async () => {
  const bulkhead = new Bulkhead("slow", { maxConcurrent: 1, maxQueue: 5 }, new FakeClock());
  const gate = deferred();
  const first = bulkhead.execute(() => gate.promise);
  const controller = new AbortController();
  const second = bulkhead.execute(async () => "never", controller.signal);
  controller.abort(new Error("client went away"));
  await assert.rejects(second, { code: "timeout" });
  assert.equal(bulkhead.queued, 0);
  gate.resolve();
  await first;
  assert.equal(bulkhead.running, 0);
});
