import { test } from "node:test";
import assert from "node:assert/strict";
import { deferred, OffsetClock } from "../../src/testing/mod.ts";

test("OffsetClock.now() follows the wall clock, and advance() adds to it at once", () => {
  const clock = new OffsetClock();
  const before = Date.now();
  const t0 = clock.now();
  assert.ok(t0 >= before && t0 <= Date.now());
  clock.advance(60_000);
  const t1 = clock.now();
  assert.ok(t1 - t0 >= 60_000, `moved ${t1 - t0} ms`);
  assert.throws(() => clock.advance(-1), RangeError);
});

test("OffsetClock.advance() fires the timers it passes, in due-time order; the others stay pending", () => {
  const clock = new OffsetClock();
  const fired: string[] = [];
  clock.setTimeout(() => fired.push("b"), 20_000);
  clock.setTimeout(() => fired.push("a"), 10_000);
  const late = clock.setTimeout(() => fired.push("late"), 600_000);
  const cancelled = clock.setTimeout(() => fired.push("cancelled"), 5_000);
  clock.clearTimeout(cancelled);
  clock.advance(30_000);
  assert.deepEqual(fired, ["a", "b"]);
  clock.advance(0);
  assert.deepEqual(fired, ["a", "b"], "a timer fires once");
  clock.clearTimeout(late);
});

test("OffsetClock.setTimeout() also fires in real time, without advance()", async () => {
  const clock = new OffsetClock();
  const fired = deferred<boolean>();
  let returned = false;
  // Not "5 ms of Date.now() later": Node's timers count from the event loop's cached time, which
  // on a busy machine can be several milliseconds older than the call.
  clock.setTimeout(() => fired.resolve(returned), 5);
  returned = true;
  assert.equal(await fired.promise, true, "the timer fires later, not during setTimeout()");
});
