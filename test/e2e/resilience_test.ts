import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { fixturePath, startStack } from "./_stack.ts";
import type { Reply, Stack } from "./_stack.ts";
import { waitFor } from "../../src/testing/mod.ts";

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

describe("breaker and retries against a failing plugin process", () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack([fixturePath("flaky")], {
      plugins: {
        flaky: {
          methods: {
            // `work` has a breaker of its own with a short reset; `once` and `workIdem` none, to count attempts.
            work: { breaker: { consecutiveFailures: 5, resetMs: 300 } },
            once: { breaker: { enabled: false } },
            workIdem: { breaker: { enabled: false }, retry: { maxAttempts: 3, baseDelayMs: 2, maxDelayMs: 10 } },
          },
        },
      },
    });
  });
  after(() => stack[Symbol.asyncDispose]());

  const setMode = async (mode: number) => assert.equal((await stack.post("flaky/control", { mode })).status, 200);
  const counts = async () => (await stack.post("flaky/counts", {})).body as Record<string, number>;
  const catalog = async () => {
    const res = await fetch(`${stack.url}/v1/plugins/flaky`);
    return ((await res.json()) as { resilience: { retryTokens: number; methods?: Record<string, { state: string }> } }).resilience;
  };
  const breakerState = async () => (await catalog()).methods?.work?.state;

  test("after 5 failures the circuit opens: 503 circuit_open fast, the plugin sees exactly 5; one probe after the reset; success closes, failure re-opens", async () => {
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
    // Client-observed, through this process's own event loop (it also runs the router): allow one
    // GC-sized outlier, never a trip to the plugin (which would show in the count below).
    const sorted = [...rejected].sort((a, b) => a - b);
    assert.ok(sorted[18]! < 50, `circuit_open p95 ${sorted[18]!.toFixed(1)} ms`);
    assert.ok(sorted[19]! < 150, `circuit_open max ${sorted[19]!.toFixed(1)} ms`);
    assert.equal((await counts()).work, 5, "the open circuit kept every request off the bus");
    assert.equal(await breakerState(), "open");
    assert.ok(stack.logs.entries.some((e) => e.msg === "circuit opened" && e.attrs.plugin === "flaky.work" && e.attrs.to === "open"));

    // After the reset: of 10 concurrent requests exactly one probe reaches the plugin; it fails and re-opens.
    await waitFor(async () => (await breakerState()) === "half_open", { timeoutMs: 3_000 });
    const probes = await Promise.all(Array.from({ length: 10 }, () => stack.post("flaky/work", {})));
    assert.deepEqual(byStatus(probes), { "503 circuit_open": 9, "503 unavailable": 1 });
    assert.equal((await counts()).work, 6);
    assert.equal(await breakerState(), "open", "a failed probe re-opens");

    // Next reset: the plugin recovers; one successful probe closes the circuit.
    await stack.post("flaky/control", { mode: 0 });
    await waitFor(async () => (await breakerState()) === "half_open", { timeoutMs: 3_000 });
    const ok = await stack.post("flaky/work", {});
    assert.equal(ok.status, 200);
    assert.equal(await breakerState(), "closed");
    const after = await load(stack, "flaky/work", 20, 4);
    assert.deepEqual(byStatus(after), { "200": 20 });
    assert.ok(stack.logs.entries.some((e) => e.msg === "circuit closed" && e.attrs.from === "half_open"));
  });

  test("a non-idempotent method is tried exactly once; an idempotent one exactly 3 times; an Idempotency-Key allows retries", async () => {
    await setMode(503);
    const once = await stack.post("flaky/once", {});
    assert.equal(once.status, 503);
    assert.equal((await counts()).once, 1);
    const idem = await stack.post("flaky/workIdem", {});
    assert.equal(idem.status, 503);
    assert.equal((await counts()).workIdem, 3);
    // The two retries spent the plugin's retry budget; it refills at 3 per second.
    await waitFor(async () => (await catalog()).retryTokens >= 2, { timeoutMs: 3_000 });
    const keyed = await stack.post("flaky/once", {}, { "idempotency-key": "k-1" });
    assert.equal(keyed.status, 503);
    assert.equal((await counts()).once, 1 + 3);
  });

  test("4xx answers are never retried and never move the breaker", async () => {
    await setMode(418);
    const replies = [...await load(stack, "flaky/workIdem", 10, 2), ...await load(stack, "flaky/work", 20, 4)];
    assert.deepEqual(byStatus(replies), { "418 teapot": 30 });
    const c = await counts();
    assert.equal(c.workIdem, 10, "one attempt per request");
    assert.equal(c.work, 20, "20 > 5 teapots and the circuit stayed closed");
    assert.equal(await breakerState(), "closed");
  });

  test("the retry budget: 500 requests (16 at a time) to an always-failing idempotent method cost ≤ 1.25× attempts", async () => {
    await setMode(503);
    const replies = await load(stack, "flaky/workIdem", 500, 16);
    assert.deepEqual(byStatus(replies), { "503 unavailable": 500 });
    const attempts = (await counts()).workIdem!;
    assert.ok(attempts >= 500 && attempts <= 625, `${attempts} attempts for 500 requests`);
    console.log(`retry budget: ${attempts} attempts for 500 requests (${(attempts / 500).toFixed(3)}×)`);
  });
});

test("a 3-level ctx.call chain with a 300 ms deadline: 504 in 300–400 ms and every level's signal aborted", async () => {
  await using stack = await startStack([fixturePath("chain-a"), fixturePath("chain-b"), fixturePath("chain-c")], {
    plugins: { "chain-a": { timeoutMs: 300 } },
  });
  const res = await stack.post("chain-a/run", {});
  assert.equal(res.status, 504);
  assert.equal(res.body.error.code, "timeout");
  assert.ok(res.ms >= 300 && res.ms < 400, `took ${res.ms.toFixed(1)} ms`);
  for (const level of ["chain-c", "chain-b", "chain-a"]) {
    let stats: { runs: number; aborted: number; abortLagMs: number[]; errors: string[] } | undefined;
    await waitFor(async () => {
      stats = (await stack.post(`${level}/stats`, {})).body;
      return stats!.aborted === 1;
    }, { timeoutMs: 3_000, message: () => `${level} to record its aborted signal (${JSON.stringify(stats)})` });
    assert.equal(stats!.runs, 1, `${level} ran once (no retries down the chain)`);
    assert.ok(stats!.abortLagMs[0]! < 100, `${level} aborted ${stats!.abortLagMs[0]} ms after the deadline`);
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

test("bulkhead 4 + queue 4 against a slow method under 20 concurrent requests: 8 served, 12 get 503 overloaded at once", async () => {
  await using stack = await startStack([fixturePath("flaky")], { plugins: { flaky: { bulkhead: { maxConcurrent: 4, maxQueue: 4 } } } });
  assert.equal((await stack.post("flaky/sleep", { ms: 0 })).status, 200); // warm the connection path
  const replies = await Promise.all(Array.from({ length: 20 }, () => stack.post("flaky/sleep", { ms: 300 })));
  assert.deepEqual(byStatus(replies), { "200": 8, "503 overloaded": 12 });
  const served = replies.filter((r) => r.status === 200).map((r) => r.ms).sort((a, b) => a - b);
  const rejected = replies.filter((r) => r.status === 503).map((r) => r.ms);
  console.log(`bulkhead: overloaded in ≤ ${Math.max(...rejected).toFixed(1)} ms, served in ${served.map((ms) => ms.toFixed(0)).join(" ")} ms`);
  // "At once": every rejection came back before the first slot was freed (the plugin sleeps 300 ms).
  assert.ok(Math.max(...rejected) < Math.min(300, served[0]!), `overloaded after ${Math.max(...rejected).toFixed(1)} ms`);
  assert.ok(served[7]! >= 550, `the queued 4 waited for a slot (slowest ${served[7]!.toFixed(0)} ms)`);
  assert.equal((await stack.post("flaky/counts", {})).body.sleep, 1 + 8);
});
