import { test } from "node:test";
import assert from "node:assert/strict";
import { RetryBudget, RetryPolicy } from "../../src/resilience/mod.ts";
import { SwitchyardError } from "../../src/errors.ts";
import { FakeClock } from "../../src/testing/mod.ts";

const SETTINGS = { maxAttempts: 3, baseDelayMs: 100, maxDelayMs: 250 };
const err = (code: string, status: number) => new SwitchyardError(code, code, { status });

/** Runs `execute` to the end on a FakeClock, firing backoff timers as they come. */
async function run<T>(clock: FakeClock, p: Promise<T>): Promise<T> {
  let done = false;
  p.then(() => (done = true), () => (done = true));
  for (let i = 0; i < 100 && !done; i++) await clock.tickAsync(1_000);
  return p;
}

test("retries no-responders, 503 and timeout up to maxAttempts", async () => {
  for (const e of [err("plugin_unavailable", 503), err("unavailable", 503), err("timeout", 504)]) {
    const clock = new FakeClock();
    const retry = new RetryPolicy({ settings: SETTINGS, clock, random: () => 0.5 });
    let attempts = 0;
    await assert.rejects(run(clock, retry.execute(async () => { attempts++; throw e; })), { code: e.code });
    assert.equal(attempts, 3, e.code);
  }
});

test("never retries a 4xx or a 502 plugin_error", async () => {
  for (const e of [err("teapot", 418), err("validation_failed", 422), err("plugin_error", 502), err("circuit_open", 503)]) {
    const clock = new FakeClock();
    const retry = new RetryPolicy({ settings: SETTINGS, clock });
    let attempts = 0;
    await assert.rejects(run(clock, retry.execute(async () => { attempts++; throw e; })));
    assert.equal(attempts, 1, e.code);
  }
});

test("succeeds on a later attempt", async () => {
  const clock = new FakeClock();
  const retry = new RetryPolicy({ settings: SETTINGS, clock, random: () => 0 });
  let attempts = 0;
  const value = await run(clock, retry.execute(async () => {
    if (++attempts < 3) throw err("plugin_unavailable", 503);
    return "ok";
  }));
  assert.equal(value, "ok");
  assert.equal(attempts, 3);
});

test("exponential backoff with full jitter, capped at maxDelayMs; the waits happen on the clock", async () => {
  const retry = new RetryPolicy({ settings: SETTINGS, random: () => 0.999 });
  assert.deepEqual([1, 2, 3, 4].map((n) => retry.delayMs(n)), [99, 199, 249, 249]);
  assert.deepEqual([1, 2].map((n) => new RetryPolicy({ settings: SETTINGS, random: () => 0.5 }).delayMs(n)), [50, 100]);

  const clock = new FakeClock();
  const delays: number[] = [];
  const times: number[] = [];
  const policy = new RetryPolicy({ settings: SETTINGS, clock, random: () => 0.5, onRetry: (_n, _e, d) => delays.push(d) });
  const p = policy.execute(async () => {
    times.push(clock.now());
    throw err("timeout", 504);
  });
  p.catch(() => {});
  await clock.tickAsync(49);
  assert.deepEqual(times, [0]);
  await clock.tickAsync(1);
  assert.deepEqual(times, [0, 50]);
  await clock.tickAsync(100);
  assert.deepEqual(times, [0, 50, 150]);
  await assert.rejects(p, { code: "timeout" });
  assert.deepEqual(delays, [50, 100]);
});

test("does not retry when the backoff would end past the deadline", async () => {
  const clock = new FakeClock();
  const retry = new RetryPolicy({ settings: SETTINGS, clock, random: () => 0.999, deadline: () => 150 });
  let attempts = 0;
  await assert.rejects(run(clock, retry.execute(async () => { attempts++; throw err("timeout", 504); })));
  assert.equal(attempts, 2, "0 → 99 ms, then a 199 ms backoff would pass 150");
});

test("the budget caps concurrent retries at max(min, ratio × active)", async () => {
  const clock = new FakeClock();
  const budget = new RetryBudget({ budgetRatio: 0.2, budgetMinConcurrent: 3 }, clock);
  for (let i = 0; i < 10; i++) budget.begin();
  assert.equal(budget.tryAcquire(), true);
  assert.equal(budget.tryAcquire(), true);
  assert.equal(budget.tryAcquire(), true);
  assert.equal(budget.tryAcquire(), false, "3 in flight: the minimum, 0.2 × 10 = 2 is lower");
  budget.release();
  clock.tick(1_000);
  assert.equal(budget.tryAcquire(), true);
  for (let i = 0; i < 40; i++) budget.begin(); // 50 active: 10 allowed in flight...
  clock.tick(10_000);
  let granted = 0;
  while (budget.tryAcquire()) granted++;
  assert.equal(granted, 3, "...but the total cap holds at most max(1, min) = 3 tokens, however long it was quiet");
  assert.equal(budget.retrying, 6);
});

test("the budget keeps retries near the ratio over many failing requests: ≤ ratio × N + min × (T + 1)", async () => {
  const clock = new FakeClock();
  const budget = new RetryBudget({ budgetRatio: 0.2, budgetMinConcurrent: 3 }, clock);
  const retry = new RetryPolicy({ settings: SETTINGS, clock, budget, random: () => 0 });
  let attempts = 0;
  const requests = 1_000;
  // 1 000 requests, 16 at a time, each attempt failing after 1 ms, over about T seconds.
  let next = 0;
  const worker = async () => {
    while (next < requests) {
      next++;
      await retry.execute(async () => {
        attempts++;
        await new Promise<void>((resolve) => clock.setTimeout(resolve, 1));
        throw err("plugin_unavailable", 503);
      }).catch(() => {});
    }
  };
  const all = Promise.all(Array.from({ length: 16 }, worker));
  let done = false;
  all.then(() => (done = true));
  while (!done) await clock.tickAsync(1);
  const seconds = clock.now() / 1000;
  const retries = attempts - requests;
  assert.ok(retries <= 0.2 * requests + 3 * (seconds + 1), `${retries} retries for ${requests} requests in ${seconds} s`);
  assert.ok(retries > 0);
  assert.equal(budget.active, 0);
  assert.equal(budget.retrying, 0);
});
