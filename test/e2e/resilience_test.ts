import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { callOverBus, fixturePath, startStack } from "./_stack.ts";
import type { Reply, Stack, StackOptions } from "./_stack.ts";
import type { Config } from "../../src/config/mod.ts";
import { OffsetClock, waitFor } from "../../src/testing/mod.ts";

/** Runs `total` POSTs to `path`, `concurrency` at a time; returns every reply. */
async function load(stack: Stack, path: string, total: number, concurrency: number, body: unknown = {}): Promise<Reply[]> {
  const replies: Reply[] = [];
  let next = 0;
  const worker = async () => {
    while (next < total) {
      next++;
      replies.push(await stack.post(path, body));
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return replies;
}

const byStatus = (replies: Reply[]) => {
  const out: Record<string, number> = {};
  for (const r of replies) out[`${r.status} ${r.body?.error?.code ?? ""}`.trim()] = (out[`${r.status} ${r.body?.error?.code ?? ""}`.trim()] ?? 0) + 1;
  return out;
};

/** A reset no test outlasts in real time: only `OffsetClock.advance()` moves past it. */
const RESET_MS = 600_000;

/**
 * A router and a `flaky` process of its own for each test, so that one test's breaker, retry
 * budget or plugin mode never reaches the next, whatever failed.
 */
async function flakyStack(flaky: NonNullable<Config["plugins"]>[string], options: StackOptions = {}) {
  const stack = await startStack([fixturePath("flaky")], { plugins: { flaky } }, options);
  return {
    stack,
    setMode: async (mode: number) => assert.equal((await stack.post("flaky/control", { mode })).status, 200),
    counts: async () => (await stack.post("flaky/counts", {})).body as Record<string, number>,
    resilience: async () => {
      const res = await fetch(`${stack.url}/v1/plugins/flaky`);
      return ((await res.json()) as { resilience: { retryTokens: number; methods?: Record<string, { state: string }> } }).resilience;
    },
  };
}

describe("breaker and retries against a failing plugin process", () => {
  test("after 5 failures the circuit opens: 503 circuit_open fast, the plugin sees exactly 5; one probe after the reset; success closes, failure re-opens", async () => {
    // The router's time jumps over the reset window when the test says so, never on its own.
    const clock = new OffsetClock();
    const { stack, setMode, counts, resilience } = await flakyStack({ methods: { work: { breaker: { consecutiveFailures: 5, resetMs: RESET_MS } } } }, { clock });
    await using _stack = stack;
    const breakerState = async () => (await resilience()).methods?.work?.state;
    await setMode(503);
    for (let i = 0; i < 5; i++) {
      const res = await stack.post("flaky/work", {});
      assert.equal(res.status, 503);
      assert.equal(res.body.error.code, "unavailable");
    }
    const rejected: number[] = [];
    for (let i = 0; i < 20; i++) {
      const res = await stack.post("flaky/work", {});
      assert.equal(res.status, 503);
      assert.equal(res.body.error.code, "circuit_open");
      assert.ok(Number(res.headers.get("retry-after")) >= 1, "Retry-After is sent");
      rejected.push(res.ms);
    }
    console.log(`circuit_open latencies (ms): ${rejected.map((ms) => ms.toFixed(1)).join(" ")}`);
    // "Fast" is checked by the count below (not one trip to the plugin); the latencies only have to
    // stay far from a request's timeout (10 s), whatever else the machine runs.
    assert.ok(Math.max(...rejected) < 2_000, `circuit_open max ${Math.max(...rejected).toFixed(1)} ms`);
    assert.equal((await counts()).work, 5, "the open circuit kept every request off the bus");
    assert.equal(await breakerState(), "open");
    assert.ok(stack.logs.entries.some((e) => e.msg === "circuit opened" && e.attrs.plugin === "flaky.work" && e.attrs.to === "open"));

    // After the reset: of 10 concurrent requests exactly one probe reaches the plugin; it fails and re-opens.
    clock.advance(RESET_MS);
    assert.equal(await breakerState(), "half_open");
    const probes = await Promise.all(Array.from({ length: 10 }, () => stack.post("flaky/work", {})));
    assert.deepEqual(byStatus(probes), { "503 circuit_open": 9, "503 unavailable": 1 });
    assert.equal((await counts()).work, 6);
    assert.equal(await breakerState(), "open", "a failed probe re-opens");

    // Next reset: the plugin recovers; one successful probe closes the circuit.
    await setMode(0);
    clock.advance(RESET_MS);
    assert.equal(await breakerState(), "half_open");
    const ok = await stack.post("flaky/work", {});
    assert.equal(ok.status, 200);
    assert.equal(await breakerState(), "closed");
    const after = await load(stack, "flaky/work", 20, 4);
    assert.deepEqual(byStatus(after), { "200": 20 });
    assert.ok(stack.logs.entries.some((e) => e.msg === "circuit closed" && e.attrs.from === "half_open"));
  });

  test("a non-idempotent method is tried exactly once; an idempotent one exactly 3 times; an Idempotency-Key allows retries", async () => {
    const clock = new OffsetClock();
    const { stack, setMode, counts, resilience } = await flakyStack({
      methods: {
        once: { breaker: { enabled: false } },
        workIdem: { breaker: { enabled: false }, retry: { maxAttempts: 3, baseDelayMs: 2, maxDelayMs: 10 } },
      },
    }, { clock });
    await using _stack = stack;
    await setMode(503);
    const once = await stack.post("flaky/once", {});
    assert.equal(once.status, 503);
    assert.equal((await counts()).once, 1);
    const idem = await stack.post("flaky/workIdem", {});
    assert.equal(idem.status, 503);
    assert.equal((await counts()).workIdem, 3);
    // The two retries spent the plugin's retry budget; it refills at 3 per second: skip that second.
    clock.advance(1_000);
    assert.ok((await resilience()).retryTokens >= 2);
    const keyed = await stack.post("flaky/once", {}, { "idempotency-key": "k-1" });
    assert.equal(keyed.status, 503);
    assert.equal((await counts()).once, 1 + 3);
  });

  test("4xx answers are never retried and never move the breaker", async () => {
    const { stack, setMode, counts, resilience } = await flakyStack({
      methods: { work: { breaker: { consecutiveFailures: 5, resetMs: RESET_MS } }, workIdem: { retry: { maxAttempts: 3, baseDelayMs: 2, maxDelayMs: 10 } } },
    });
    await using _stack = stack;
    await setMode(418);
    const replies = [...await load(stack, "flaky/workIdem", 10, 2), ...await load(stack, "flaky/work", 20, 4)];
    assert.deepEqual(byStatus(replies), { "418 teapot": 30 });
    const c = await counts();
    assert.equal(c.workIdem, 10, "one attempt per request");
    assert.equal(c.work, 20, "20 > 5 teapots and the circuit stayed closed");
    assert.equal((await resilience()).methods?.work?.state, "closed");
  });

  test("the retry budget: 500 requests (16 at a time) to an always-failing idempotent method cost ≤ 1.2× attempts, plus the budget's refill over the run", async () => {
    const { stack, setMode, counts } = await flakyStack({ methods: { workIdem: { breaker: { enabled: false }, retry: { maxAttempts: 3, baseDelayMs: 2, maxDelayMs: 10 } } } });
    await using _stack = stack;
    await setMode(503);
    const t0 = performance.now();
    const replies = await load(stack, "flaky/workIdem", 500, 16);
    const seconds = (performance.now() - t0) / 1000;
    assert.deepEqual(byStatus(replies), { "503 unavailable": 500 });
    const attempts = (await counts()).workIdem!;
    // budgetRatio 0.2 per request, plus budgetMinConcurrent (3) to start with and 3 more per
    // second: a slow (loaded) run may earn more, by exactly that refill.
    const bound = 500 + 0.2 * 500 + 3 + 3 * Math.ceil(seconds);
    console.log(`retry budget: ${attempts} attempts for 500 requests (${(attempts / 500).toFixed(3)}×) in ${seconds.toFixed(1)} s; bound ${bound}`);
    assert.ok(attempts >= 500 && attempts <= bound, `${attempts} attempts for 500 requests in ${seconds.toFixed(1)} s`);
  });
});

test("a 3-level ctx.call chain with a 3 s deadline: 504 at the deadline and every level's signal aborted", async () => {
  // Long enough for the request to reach the third level on a loaded machine, far from the 10 s default.
  const deadlineMs = 3_000;
  await using stack = await startStack([fixturePath("chain-a"), fixturePath("chain-b"), fixturePath("chain-c")], {
    plugins: { "chain-a": { timeoutMs: deadlineMs } },
  });
  const res = await stack.post("chain-a/run", {});
  assert.equal(res.status, 504);
  assert.equal(res.body.error.code, "timeout");
  // Not before the deadline; and well before the 10 s default timeout, which would mean the
  // deadline did not hold (the margin is for a loaded machine).
  assert.ok(res.ms >= deadlineMs && res.ms < deadlineMs + 4_000, `took ${res.ms.toFixed(1)} ms`);
  for (const level of ["chain-c", "chain-b", "chain-a"]) {
    let stats: { runs: number; aborted: number; abortLagMs: number[]; errors: string[] } | undefined;
    await waitFor(async () => {
      stats = (await stack.post(`${level}/stats`, {})).body;
      return stats!.aborted === 1;
    }, { timeoutMs: 20_000, message: () => `${level} to record its aborted signal (${JSON.stringify(stats)})` });
    assert.equal(stats!.runs, 1, `${level} ran once (no retries down the chain)`);
    assert.ok(stats!.abortLagMs[0]! < 2_000, `${level} aborted ${stats!.abortLagMs[0]} ms after the deadline`);
    if (level !== "chain-c") assert.deepEqual(stats!.errors, ["timeout"], `${level}'s ctx.call threw timeout`);
  }
});

test("rate limit 10 rps, burst 20: of 100 requests at once 20 pass (+ what refills meanwhile), the rest get 429 with Retry-After; the plugin counts the same", async () => {
  await using stack = await startStack([fixturePath("flaky")], { plugins: { flaky: { rateLimit: { rps: 10, burst: 20 } } } });
  const t0 = performance.now();
  const replies = await Promise.all(Array.from({ length: 100 }, () => stack.post("flaky/work", {})));
  // The bucket refills at 10/s while the 100 requests arrive; that many more may pass.
  const refill = Math.floor(((performance.now() - t0) * 10) / 1000);
  const statuses = byStatus(replies);
  const passed = statuses["200"] ?? 0;
  console.log(`rate limit: ${JSON.stringify(statuses)} in ${(performance.now() - t0).toFixed(0)} ms (refill allowance ${refill})`);
  assert.ok(passed >= 20 && passed <= 20 + refill, `${passed} passed`);
  assert.equal(statuses["429 rate_limited"], 100 - passed);
  for (const r of replies.filter((r) => r.status === 429)) assert.ok(Number(r.headers.get("retry-after")) >= 1);
  let work: number | undefined;
  // `counts` is rate limited too: poll until a token has refilled.
  await waitFor(async () => {
    const res = await stack.post("flaky/counts", {});
    work = res.body.work;
    return res.status === 200;
  });
  assert.equal(work, passed);
});

test("bulkhead 4 + queue 4 under 20 concurrent requests: 4 run, 4 wait for a slot, 12 get 503 overloaded at once", async () => {
  await using stack = await startStack([fixturePath("flaky")], { plugins: { flaky: { bulkhead: { maxConcurrent: 4, maxQueue: 4 } } } });
  const key = "bulkhead";
  const held = async () => ((await callOverBus(stack.router.nc, "flaky", "held", { key })) as { held: number }).held;
  const replies = Array.from({ length: 20 }, () => stack.post("flaky/hold", { key }));
  const settled: Reply[] = [];
  for (const r of replies) void r.then((reply) => settled.push(reply));
  try {
    // "At once": 12 answers come back while the plugin still holds the 4 it runs.
    await waitFor(() => settled.length >= 12, { timeoutMs: 20_000, message: () => `12 answers (got ${settled.length})` });
    assert.deepEqual(byStatus(settled), { "503 overloaded": 12 });
    for (const r of settled) assert.ok(Number(r.headers.get("retry-after")) >= 1);
    await waitFor(async () => (await held()) === 4, { timeoutMs: 20_000, message: "the plugin to hold 4" });
    assert.equal(settled.length, 12, "the queued 4 wait for a slot");
    // Past the router, whose bulkhead is full.
    assert.equal((await callOverBus(stack.router.nc, "flaky", "counts", {})).hold, 4, "only 4 reached the plugin");
  } finally {
    await callOverBus(stack.router.nc, "flaky", "release", { key });
  }
  // Released: the 4 running answer, and the 4 queued run in the freed slots.
  assert.deepEqual(byStatus(await Promise.all(replies)), { "200": 8, "503 overloaded": 12 });
  assert.equal((await stack.post("flaky/counts", {})).body.hold, 8);
});
