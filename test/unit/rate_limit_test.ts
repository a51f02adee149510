import { test } from "node:test";
import assert from "node:assert/strict";
import { RateLimiter } from "../../src/resilience/mod.ts";
import { FakeClock } from "../../src/testing/mod.ts";

test("10 rps burst 20: 20 at once pass, the 21st gets 429 rate_limited with Retry-After", () => {
  const clock = new FakeClock();
  const limiter = new RateLimiter("orders", { rps: 10, burst: 20 }, clock);
  let passed = 0;
  for (let i = 0; i < 100; i++) if (limiter.take("anonymous") === 0) passed++;
  assert.equal(passed, 20);
  const wait = limiter.take("anonymous");
  assert.equal(wait, 100, "one token every 100 ms");
  const err = limiter.rejection(wait);
  assert.equal(err.code, "rate_limited");
  assert.equal(err.status, 429);
  assert.equal(err.retryAfter, 1);
});

test("refills lazily from the clock, up to the burst", () => {
  const clock = new FakeClock();
  const limiter = new RateLimiter("orders", { rps: 10, burst: 20 }, clock);
  for (let i = 0; i < 20; i++) limiter.take("p");
  clock.tick(99);
  assert.ok(limiter.take("p") > 0);
  clock.tick(1);
  assert.equal(limiter.take("p"), 0);
  assert.ok(limiter.take("p") > 0);
  clock.tick(60_000);
  let passed = 0;
  while (limiter.take("p") === 0) passed++;
  assert.equal(passed, 20, "capped at the burst");
  assert.equal(clock.pending, 0, "no timers");
});

test("buckets are per key (principal)", () => {
  const clock = new FakeClock();
  const limiter = new RateLimiter("orders", { rps: 1, burst: 1 }, clock);
  assert.equal(limiter.take("bob"), 0);
  assert.ok(limiter.take("bob") > 0);
  assert.equal(limiter.take("alice"), 0, "alice has a bucket of her own");
  assert.ok(limiter.take("alice") > 0);
});
