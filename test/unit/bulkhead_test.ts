import { test } from "node:test";
import assert from "node:assert/strict";
import { Bulkhead } from "../../src/resilience/mod.ts";
import { FakeClock } from "../../src/testing/mod.ts";

test("takes maxConcurrent slots at once, queues maxQueue, and refuses the rest with 503 overloaded", async () => {
  const bulkhead = new Bulkhead("slow", { maxConcurrent: 2, maxQueue: 1 }, new FakeClock());
  assert.equal(bulkhead.tryAcquire(), true);
  assert.equal(bulkhead.tryAcquire(), true);
  assert.equal(bulkhead.tryAcquire(), false);
  assert.equal(bulkhead.canQueue(), true);
  let admitted = false;
  const waiting = bulkhead.wait(Infinity).then(() => (admitted = true));
  assert.equal(bulkhead.canQueue(), false, "the queue is full");
  const err = bulkhead.rejection();
  assert.deepEqual([err.code, err.status, err.retryAfter], ["overloaded", 503, 1]);
  assert.deepEqual([bulkhead.running, bulkhead.queued], [2, 1]);
  bulkhead.release();
  await waiting;
  assert.equal(admitted, true, "the freed slot went straight to the waiter");
  assert.deepEqual([bulkhead.running, bulkhead.queued], [2, 0]);
  bulkhead.release();
  bulkhead.release();
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
