import { test } from "node:test";
import assert from "node:assert/strict";
import { CircuitBreaker } from "../../src/resilience/mod.ts";
import type { BreakerSettings, CircuitTransition, Outcome } from "../../src/resilience/mod.ts";
import type { SwitchyardError } from "../../src/errors.ts";
import { captureLogger, FakeClock } from "../../src/testing/mod.ts";

const SETTINGS: BreakerSettings = {
  consecutiveFailures: 5,
  failureRate: 0.5,
  minRequests: 20,
  windowMs: 10_000,
  resetMs: 1_000,
  halfOpenProbes: 1,
  successThreshold: 1,
};

function breaker(settings: Partial<BreakerSettings> = {}) {
  const clock = new FakeClock(1_000_000);
  const logger = captureLogger();
  const events: CircuitTransition[] = [];
  const b = new CircuitBreaker({ name: "orders", settings: { ...SETTINGS, ...settings }, clock, logger, onStateChange: (e) => events.push(e) });
  return { b, clock, logger, events };
}

/**
 * One call as the request pipeline makes it: permission first, then the outcome it classified
 * (5xx and timeouts fail, 4xx are ignored). "refused" when the breaker did not let it through.
 */
function call(b: CircuitBreaker, outcome: Outcome): Outcome | "refused" {
  if (!b.tryAcquire()) return "refused";
  b.record(outcome);
  return outcome;
}
const fail = "failure" as const;
const ok = "success" as const;
const teapot = "ignored" as const;

test("opens after 5 consecutive failures and refuses with circuit_open and retryAfter", async () => {
  const { b, clock, logger, events } = breaker();
  for (let i = 0; i < 4; i++) assert.equal(call(b, fail), fail);
  assert.equal(b.state, "closed");
  assert.equal(call(b, fail), fail);
  assert.equal(b.state, "open");
  clock.tick(400);
  assert.equal(call(b, ok), "refused");
  const err: SwitchyardError = b.rejection();
  assert.equal(err.code, "circuit_open");
  assert.equal(err.status, 503);
  assert.equal(err.retryAfter, 1); // 600 ms left, rounded up
  assert.deepEqual(events, [{ type: "circuit", name: "orders", from: "closed", to: "open" }]);
  assert.equal(logger.entries[0]!.level, "warn");
  assert.deepEqual({ ...logger.entries[0]!.attrs, retryAfter: undefined }, { plugin: "orders", from: "closed", to: "open", retryAfter: undefined });
});

test("a success resets the consecutive count", async () => {
  const { b } = breaker();
  for (let i = 0; i < 4; i++) assert.equal(call(b, fail), fail);
  assert.equal(call(b, ok), ok);
  for (let i = 0; i < 4; i++) assert.equal(call(b, fail), fail);
  assert.equal(b.state, "closed");
});

test("after the reset interval it turns half-open lazily, lets exactly one probe through; success closes", async () => {
  const { b, clock, events } = breaker();
  for (let i = 0; i < 5; i++) assert.equal(call(b, fail), fail);
  clock.tick(999);
  assert.equal(b.state, "open");
  clock.tick(1);
  assert.equal(clock.pending, 0, "no timer: the state moves when read");
  assert.equal(b.state, "half_open");
  assert.equal(b.tryAcquire(), true, "the probe");
  assert.equal(b.tryAcquire(), false, "a second caller during the probe is refused");
  b.record("success");
  assert.equal(b.state, "closed");
  assert.deepEqual(events.map((e) => e.to), ["open", "half_open", "closed"]);
});

test("a failed probe re-opens for another full reset interval", async () => {
  const { b, clock } = breaker();
  for (let i = 0; i < 5; i++) assert.equal(call(b, fail), fail);
  clock.tick(1_000);
  assert.equal(call(b, fail), fail);
  assert.equal(b.state, "open");
  clock.tick(999);
  assert.equal(call(b, ok), "refused");
  clock.tick(1);
  assert.equal(call(b, ok), ok);
  assert.equal(b.state, "closed");
});

test("halfOpenProbes and successThreshold: N probes at once, closes after the threshold", async () => {
  const { b, clock } = breaker({ halfOpenProbes: 2, successThreshold: 3 });
  for (let i = 0; i < 5; i++) assert.equal(call(b, fail), fail);
  clock.tick(1_000);
  assert.equal(b.tryAcquire(), true);
  assert.equal(b.tryAcquire(), true);
  assert.equal(b.tryAcquire(), false);
  b.record("success");
  b.record("success");
  assert.equal(b.state, "half_open");
  assert.equal(b.tryAcquire(), true);
  b.record("success");
  assert.equal(b.state, "closed");
});

test("4xx never move it: not in closed, and a 4xx probe only frees its slot", async () => {
  const { b, clock } = breaker();
  for (let i = 0; i < 50; i++) assert.equal(call(b, teapot), teapot);
  assert.equal(b.state, "closed");
  for (let i = 0; i < 5; i++) assert.equal(call(b, fail), fail);
  clock.tick(1_000);
  assert.equal(call(b, teapot), teapot);
  assert.equal(b.state, "half_open");
  assert.equal(b.tryAcquire(), true, "the probe slot was given back");
});

test("opens on the failure rate once the window holds minRequests; old buckets roll out", async () => {
  const { b, clock } = breaker({ consecutiveFailures: 1_000, minRequests: 10, failureRate: 0.5, windowMs: 1_000 });
  // 4 failures, 5 successes: 9 < minRequests
  for (let i = 0; i < 5; i++) call(b, ok);
  for (let i = 0; i < 4; i++) assert.equal(call(b, fail), fail);
  assert.equal(b.state, "closed");
  // the window moves on: those 9 expire
  clock.tick(1_500);
  for (let i = 0; i < 6; i++) call(b, ok);
  for (let i = 0; i < 4; i++) assert.equal(call(b, fail), fail);
  assert.equal(b.state, "closed", "4/10 < 50 %");
  assert.equal(call(b, fail), fail);
  assert.equal(call(b, fail), fail);
  assert.equal(b.state, "open", "6/12 ≥ 50 %");
});

test("describe() gives the state and, while open, the seconds until a probe", () => {
  const { b } = breaker({ consecutiveFailures: 1 });
  assert.deepEqual(b.describe(), { state: "closed" });
  call(b, fail);
  assert.equal(b.state, "open");
  assert.deepEqual(b.describe(), { state: "open", retryAfter: 1 });
});
