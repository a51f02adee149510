import { test } from "node:test";
import assert from "node:assert/strict";
import { FakeClock } from "../../src/testing/mod.ts";

test("FakeClock.tick() fires due timers in due-time order with now() at each due time", () => {
  const clock = new FakeClock(1000);
  const fired: string[] = [];
  clock.setTimeout(() => fired.push(`b@${clock.now()}`), 20);
  clock.setTimeout(() => fired.push(`a@${clock.now()}`), 10);
  clock.setTimeout(() => fired.push(`c@${clock.now()}`), 20);
  clock.tick(9);
  assert.deepEqual(fired, []);
  assert.equal(clock.now(), 1009);
  clock.tick(11);
  assert.deepEqual(fired, ["a@1010", "b@1020", "c@1020"]);
  assert.equal(clock.now(), 1020);
  assert.equal(clock.pending, 0);
});

test("FakeClock.clearTimeout() cancels a timer", () => {
  const clock = new FakeClock();
  let fired = false;
  const id = clock.setTimeout(() => (fired = true), 5);
  assert.equal(clock.pending, 1);
  clock.clearTimeout(id);
  clock.tick(10);
  assert.equal(fired, false);
  assert.equal(clock.pending, 0);
});

test("FakeClock.tick() fires timers scheduled by a callback within the same window", () => {
  const clock = new FakeClock();
  const at: number[] = [];
  const again = () => {
    at.push(clock.now());
    if (at.length < 5) clock.setTimeout(again, 10);
  };
  clock.setTimeout(again, 10);
  clock.tick(35);
  assert.deepEqual(at, [10, 20, 30]);
  clock.tick(100);
  assert.deepEqual(at, [10, 20, 30, 40, 50]);
});

test("FakeClock.tick() treats negative delays as 0 and rejects negative ticks", () => {
  const clock = new FakeClock();
  let fired = 0;
  clock.setTimeout(() => fired++, -5);
  clock.tick(0);
  assert.equal(fired, 1);
  assert.throws(() => clock.tick(-1), RangeError);
  assert.throws(() => clock.tick(Number.NaN), RangeError);
});

test("FakeClock.tickAsync() lets promise callbacks run between timers", async () => {
  const clock = new FakeClock();
  const sleep = (ms: number) => new Promise<void>((resolve) => clock.setTimeout(resolve, ms));
  const steps: number[] = [];
  const done = (async () => {
    await sleep(10);
    steps.push(clock.now());
    await sleep(10);
    steps.push(clock.now());
  })();
  await clock.tickAsync(20);
  await done;
  assert.deepEqual(steps, [10, 20]);
});

test("FakeClock.runAll() fires everything and stops a self re-arming timer", () => {
  const clock = new FakeClock();
  const fired: number[] = [];
  clock.setTimeout(() => fired.push(clock.now()), 300);
  clock.setTimeout(() => fired.push(clock.now()), 100);
  clock.runAll();
  assert.deepEqual(fired, [100, 300]);
  const forever = () => void clock.setTimeout(forever, 1);
  forever();
  assert.throws(() => clock.runAll(50), /fired 50 timers and timers remain/);
});
