import { test } from "node:test";
import assert from "node:assert/strict";
import * as v from "valibot";
import { headers as natsHeaders } from "@nats-io/nats-core";
import type { BusReply } from "../../src/bus/mod.ts";
import {
  CircuitBreaker,
  FallbackPolicy,
  guardedRequest,
  ResiliencePolicies,
  RetryPolicy,
  TimeoutPolicy,
  wrap,
} from "../../src/resilience/mod.ts";
import type { GuardedCall, Transport } from "../../src/resilience/mod.ts";
import { ConfigSchema, ResilienceSchema } from "../../src/config/mod.ts";
import { resolveConfig } from "../../src/config/mod.ts";
import { encodeWireError } from "../../src/bus/mod.ts";
import { SwitchyardError } from "../../src/errors.ts";
import { captureLogger, FakeClock } from "../../src/testing/mod.ts";

test("timeout: rejects with 504 timeout at the deadline and aborts the work's signal", async () => {
  const clock = new FakeClock(1_000);
  const policy = new TimeoutPolicy({ timeoutMs: 300, clock });
  let seen: AbortSignal | undefined;
  const p = policy.execute((signal) => {
    seen = signal;
    return new Promise(() => {});
  });
  p.catch(() => {});
  clock.tick(299);
  assert.equal(seen!.aborted, false);
  clock.tick(1);
  await assert.rejects(p, { code: "timeout", status: 504 });
  assert.equal(seen!.aborted, true);
  assert.equal(clock.pending, 0);
});

test("timeout: an absolute deadline already past rejects at once; a quick result clears the timer", async () => {
  const clock = new FakeClock(5_000);
  await assert.rejects(new TimeoutPolicy({ deadline: 4_000, clock }).execute(async () => 1), { code: "timeout" });
  assert.equal(await new TimeoutPolicy({ deadline: 6_000, clock }).execute(async () => 2), 2);
  assert.equal(clock.pending, 0);
});

test("wrap composes outermost first: retry outside the timeout retries each timed-out attempt", async () => {
  const clock = new FakeClock();
  const retry = new RetryPolicy({ settings: { maxAttempts: 3, baseDelayMs: 10, maxDelayMs: 10 }, clock, random: () => 0 });
  const policy = wrap(retry, new TimeoutPolicy({ timeoutMs: 100, clock }));
  let attempts = 0;
  const p = policy.execute(() => {
    attempts++;
    return new Promise(() => {});
  });
  p.catch(() => {});
  for (let i = 0; i < 5; i++) await clock.tickAsync(100);
  await assert.rejects(p, { code: "timeout" });
  assert.equal(attempts, 3);
});

test("wrap with a breaker and a fallback: an open circuit answers the static value", async () => {
  const clock = new FakeClock();
  const settings = { consecutiveFailures: 2, failureRate: 1, minRequests: 100, windowMs: 1_000, resetMs: 1_000, halfOpenProbes: 1, successThreshold: 1 };
  const breaker = new CircuitBreaker({ name: "p", settings, clock });
  const policy = wrap(new FallbackPolicy({ cached: true }), breaker);
  const down = () => Promise.reject(new SwitchyardError("plugin_unavailable", "x"));
  await assert.rejects(policy.execute(down), { code: "plugin_unavailable" });
  await assert.rejects(policy.execute(down), { code: "plugin_unavailable" });
  assert.deepEqual(await policy.execute(down), { cached: true });
});

// guardedRequest: the router's composition, against a fake transport.

const encoder = new TextEncoder();
function reply(status = 0, code = ""): BusReply {
  if (status === 0) return { data: encoder.encode("{}"), headers: undefined };
  return encodeWireError({ status, code, message: code });
}

class FakeTransport implements Transport<GuardedCall> {
  sent = 0;
  readonly answer: () => BusReply | Promise<BusReply>;
  constructor(answer: () => BusReply | Promise<BusReply>) {
    this.answer = answer;
  }
  send(): Promise<BusReply> {
    this.sent++;
    return Promise.resolve(this.answer());
  }
}

function setup(resilience: unknown = {}, plugins: unknown = {}) {
  const clock = new FakeClock(1_000_000);
  const logger = captureLogger();
  const config = resolveConfig({ resilience, plugins }, {});
  const policies = new ResiliencePolicies(config, { clock, logger, random: () => 0 });
  return { clock, logger, policies };
}
const call = (clock: FakeClock, mayRetry: boolean): GuardedCall => ({ headers: natsHeaders(), deadline: clock.now() + 1_000, mayRetry });

async function settle<T>(clock: FakeClock, p: Promise<T>): Promise<T> {
  let done = false;
  p.then(() => (done = true), () => (done = true));
  for (let i = 0; i < 2_000 && !done; i++) await clock.tickAsync(10);
  return p;
}

test("guardedRequest: a non-idempotent call is sent once; an idempotent one maxAttempts times on a 503 reply", async () => {
  const { clock, policies } = setup();
  const m = policies.plugin("p").method("m");
  const once = new FakeTransport(() => reply(503, "unavailable"));
  const r1 = await settle(clock, guardedRequest(once, m, call(clock, false), clock));
  assert.equal(r1.headers?.get("Nats-Service-Error-Code"), "503");
  assert.equal(once.sent, 1);
  const thrice = new FakeTransport(() => reply(503, "unavailable"));
  await settle(clock, guardedRequest(thrice, m, call(clock, true), clock));
  assert.equal(thrice.sent, 3);
});

test("guardedRequest: retries no-responders and succeeds; never retries 4xx or 502", async () => {
  const { clock, policies } = setup();
  const m = policies.plugin("p").method("m");
  let n = 0;
  const flaky = new FakeTransport(() => {
    if (n++ === 0) throw new SwitchyardError("plugin_unavailable", "no responders");
    return reply();
  });
  const ok = await settle(clock, guardedRequest(flaky, m, call(clock, true), clock));
  assert.equal(ok.headers, undefined);
  assert.equal(flaky.sent, 2);
  for (const [status, code] of [[418, "teapot"], [422, "validation_failed"], [502, "plugin_error"]] as const) {
    const t = new FakeTransport(() => reply(status, code));
    await settle(clock, guardedRequest(t, m, call(clock, true), clock));
    assert.equal(t.sent, 1, code);
  }
});

test("guardedRequest: 5 failures open the plugin's breaker; then no send, 503 circuit_open; 4xx never count", async () => {
  const { clock, policies, logger } = setup({ retry: { maxAttempts: 1 } });
  const m = policies.plugin("p").method("m");
  const teapot = new FakeTransport(() => reply(418, "teapot"));
  for (let i = 0; i < 20; i++) await guardedRequest(teapot, m, call(clock, false), clock);
  assert.equal(m.breaker!.state, "closed");
  const failing = new FakeTransport(() => reply(502, "plugin_error"));
  for (let i = 0; i < 5; i++) await guardedRequest(failing, m, call(clock, false), clock);
  await assert.rejects(guardedRequest(failing, m, call(clock, false), clock), { code: "circuit_open", retryAfter: 10 });
  assert.equal(failing.sent, 5);
  assert.deepEqual(policies.plugin("p").describe().breaker, { state: "open", retryAfter: 10 });
  assert.ok(logger.entries.some((e) => e.msg === "circuit opened" && e.attrs.plugin === "p"));
});

test("guardedRequest: retries stop at the deadline, and the breaker opening stops them", async () => {
  const { clock } = setup();
  const slowBackoff = new ResiliencePolicies(resolveConfig({ resilience: { retry: { maxAttempts: 10, baseDelayMs: 400, maxDelayMs: 400 } } }, {}), {
    clock,
    random: () => 0.99,
  }).plugin("q").method("m");
  const t = new FakeTransport(() => reply(503, "unavailable"));
  const started = clock.now();
  await settle(clock, guardedRequest(t, slowBackoff, call(clock, true), clock));
  assert.equal(t.sent, 3, "backoffs of 396 ms: a third one would end past the 1 s deadline");
  assert.ok(clock.now() - started < 1_000);

  const { policies } = setup({ retry: { maxAttempts: 10 }, breaker: { consecutiveFailures: 2 } });
  const m = policies.plugin("p").method("m");
  const u = new FakeTransport(() => reply(503, "unavailable"));
  await settle(clock, guardedRequest(u, m, call(clock, true), clock));
  assert.equal(u.sent, 2, "the 2nd failure opened the circuit: no more attempts");
  assert.equal(m.breaker!.state, "open");
});

test("guardedRequest: tells its observer of each retry, and why a retryable failure was not retried", async () => {
  const events: string[] = [];
  const observer = {
    retrying: (attempt: number, delayMs: number, reason: string) => void events.push(`retry ${attempt} ${reason} ${delayMs >= 0}`),
    retryRefused: (reason: string) => void events.push(`refused ${reason}`),
  };
  const { clock, policies } = setup({ retry: { maxAttempts: 3 } });
  const t = new FakeTransport(() => reply(503, "unavailable"));
  await settle(clock, guardedRequest(t, policies.plugin("p").method("m"), { ...call(clock, true), observer }, clock));
  assert.deepEqual(events, ["retry 2 unavailable true", "retry 3 unavailable true"]);

  events.length = 0;
  const spent = setup({ retry: { budgetRatio: 0, budgetMinConcurrent: 0 } });
  await settle(spent.clock, guardedRequest(t, spent.policies.plugin("p").method("m"), { ...call(spent.clock, true), observer }, spent.clock));
  assert.deepEqual(events, ["refused budget"]);

  events.length = 0;
  const slow = new ResiliencePolicies(resolveConfig({ resilience: { retry: { maxAttempts: 5, baseDelayMs: 2_000, maxDelayMs: 2_000 } } }, {}), {
    clock,
    random: () => 0.99,
  }).plugin("s").method("m");
  await settle(clock, guardedRequest(t, slow, { ...call(clock, true), observer }, clock));
  assert.deepEqual(events, ["refused deadline"]);

  events.length = 0;
  const ok = new FakeTransport(() => reply());
  await guardedRequest(ok, policies.plugin("p").method("m"), { ...call(clock, true), observer }, clock);
  assert.deepEqual(events, [], "nothing on the success path");
});

test("guardedRequest: bulkhead full → overloaded without a send; a per-method breaker is separate", async () => {
  const { clock, policies } = setup({}, { p: { bulkhead: { maxConcurrent: 1, maxQueue: 0 }, methods: { own: { breaker: { consecutiveFailures: 1 } } } } });
  const pp = policies.plugin("p");
  assert.notEqual(pp.method("own").breaker, pp.breaker);
  let release!: (m: BusReply) => void;
  const slow = new FakeTransport(() => new Promise<BusReply>((r) => (release = r)));
  const first = guardedRequest(slow, pp.method("m"), call(clock, false), clock);
  await assert.rejects(guardedRequest(slow, pp.method("m"), call(clock, false), clock), { code: "overloaded" });
  assert.equal(slow.sent, 1);
  release(reply());
  await first;
  assert.equal(pp.bulkhead!.running, 0);
  await guardedRequest(new FakeTransport(() => reply(503, "x")), pp.method("own"), call(clock, false), clock);
  assert.equal(pp.method("own").breaker!.state, "open");
  assert.equal(pp.breaker!.state, "closed");
  assert.deepEqual(pp.describe().methods, { own: { state: "open", retryAfter: 10 } });
});

test("config: defaults on (breaker, retry), bulkhead and rate limit off; bad values name their path", () => {
  const r = v.parse(ResilienceSchema, {});
  assert.equal(r.breaker.enabled, true);
  assert.equal(r.breaker.consecutiveFailures, 5);
  assert.equal(r.retry.maxAttempts, 3);
  assert.equal(r.retry.budgetRatio, 0.2);
  assert.equal(r.bulkhead, undefined);
  assert.equal(r.rateLimit, undefined);
  const bad = v.safeParse(ConfigSchema, { plugins: { p: { methods: { m: { retry: { maxAttempts: 0 } } } } }, resilience: { breaker: { failureRate: 2 } } });
  assert.equal(bad.success, false);
  const paths = bad.issues!.map((i) => v.getDotPath(i));
  assert.ok(paths.includes("plugins.p.methods.m.retry.maxAttempts"), String(paths));
  assert.ok(paths.includes("resilience.breaker.failureRate"), String(paths));
  // rate limit burst defaults to ceil(rps)
  const { policies } = setup({ rateLimit: { rps: 2.5 } });
  assert.equal(policies.plugin("p").rateLimiter!.settings.burst, 3);
});
