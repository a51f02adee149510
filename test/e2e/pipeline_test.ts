/**
 * The request pipeline against real plugin processes, with the default config: one failing
 * instance does not take its plugin down, a killed instance costs at most what it had in flight,
 * a rollback drains without a failed request, and `ctx.call` routes as an HTTP call does.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { waitFor } from "../../src/testing/mod.ts";
import type { ProcessHandle } from "../../src/testing/mod.ts";
import { fixturePath, startPlugin, startStack } from "./_stack.ts";
import type { Stack } from "./_stack.ts";
import { pct, runLoad } from "./_load.ts";

interface Outcome {
  /** ms since the load started, when the response arrived. */
  at: number;
  status: number;
  code: string;
  instance: string;
  version: string;
}

/**
 * `concurrency` clients POSTing to `url` until `stop()`; every response kept with its arrival time.
 */
function openLoad(url: string, concurrency: number, headers: Record<string, string> = {}) {
  const outcomes: Outcome[] = [];
  const t0 = performance.now();
  let running = true;
  const client = async () => {
    while (running) {
      try {
        const res = await fetch(url, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: "{}" });
        const body = await res.json() as { error?: { code?: string } };
        outcomes.push({
          at: performance.now() - t0,
          status: res.status,
          code: body.error?.code ?? "",
          instance: res.headers.get("x-plugin-instance") ?? "",
          version: res.headers.get("x-plugin-version") ?? "",
        });
      } catch (err) {
        outcomes.push({ at: performance.now() - t0, status: 0, code: String(err), instance: "", version: "" });
      }
    }
  };
  const clients = Array.from({ length: concurrency }, client);
  return {
    outcomes,
    now: () => performance.now() - t0,
    async stop(): Promise<Outcome[]> {
      running = false;
      await Promise.all(clients);
      return outcomes;
    },
  };
}

const failures = (outcomes: readonly Outcome[]) => outcomes.filter((o) => o.status !== 200);
function describeFailures(outcomes: readonly Outcome[]): string {
  const counts = new Map<string, number>();
  for (const o of failures(outcomes)) counts.set(`${o.status} ${o.code}`, (counts.get(`${o.status} ${o.code}`) ?? 0) + 1);
  return [...counts].map(([k, n]) => `${n}× ${k}`).join(", ") || "none";
}

test("default config, three instances, one answering 500 to everything: ≤ 1 % errors after the first second, no circuit_open", async () => {
  await using stack = await startStack([]);
  const start = (id: string, fail: boolean) =>
    startPlugin(fixturePath("tunable-outlier"), stack.nats.url, { instanceId: id, args: ["--options", JSON.stringify({ fail })] });
  stack.plugins.push(...await Promise.all([start("good-1", false), start("good-2", false), start("bad", true)]));
  await stack.waitForInstances("tunable-outlier", 3);
  const load = openLoad(`${stack.url}/v1/tunable-outlier/work`, 16);
  // 2000 responses, and at least 2 s of them after the first second (a fast runtime does 2000 in one).
  await waitFor(() => load.outcomes.length >= 2_000 && load.now() > 3_000, { timeoutMs: 60_000, message: "2000 responses over 3 s" });
  const outcomes = await load.stop();
  const later = outcomes.filter((o) => o.at > 1_000);
  console.log(`one bad instance of three: ${outcomes.length} requests, failures ${describeFailures(outcomes)}; after 1 s ${failures(later).length} of ${later.length}`);
  assert.equal(outcomes.filter((o) => o.code === "circuit_open").length, 0, "the plugin's breaker never opened");
  assert.ok(pct(failures(later).length, later.length) <= 1, `${failures(later).length} of ${later.length} failed after the first second`);
  assert.ok(failures(outcomes).length <= 16, describeFailures(outcomes));
});

test("kill -9 one of two instances under 16 in flight, no supervisor, default config: ≤ 16 failures, none after 1 s (3 runs)", async () => {
  await using stack = await startStack([]);
  const start = (id: string) => startPlugin(fixturePath("tunable-even"), stack.nats.url, { instanceId: id });
  stack.plugins.push(await start("keeper"));
  for (let run = 1; run <= 3; run++) {
    const victim: ProcessHandle = await start(`victim-${run}`);
    stack.plugins.push(victim);
    await stack.waitForInstances("tunable-even", 2);
    const load = openLoad(`${stack.url}/v1/tunable-even/work`, 16);
    await waitFor(() => load.outcomes.filter((o) => o.instance === `victim-${run}`).length >= 50, { timeoutMs: 20_000, message: "the victim serves" });
    const killedAt = load.now();
    victim.kill("SIGKILL");
    await waitFor(() => load.outcomes.some((o) => o.at > killedAt + 1_500), { timeoutMs: 20_000, message: "1.5 s of load after the kill" });
    const outcomes = await load.stop();
    const failed = failures(outcomes);
    const late = failed.filter((o) => o.at > killedAt + 1_000);
    console.log(`run ${run}: kill -9 under load: ${outcomes.length} requests, failures ${describeFailures(outcomes)}, ${late.length} more than 1 s after the kill`);
    assert.ok(failed.length <= 16, describeFailures(outcomes));
    assert.deepEqual(late, [], "nothing fails more than 1 s after the kill");
    assert.ok(failed.every((o) => o.code !== "circuit_open"), "the breaker stays closed");
    await victim.exited;
  }
});

test("a rollback loop, v2 drained while v1 serves, 8 rounds at 16 in flight: 0 failed unpinned requests", async () => {
  await using stack = await startStack([]);
  stack.plugins.push(await startPlugin(fixturePath("versioned-v1"), stack.nats.url, { instanceId: "v1" }));
  await stack.waitForInstances("versioned", 1);
  let total = 0;
  for (let round = 1; round <= 8; round++) {
    const v2 = await startPlugin(fixturePath("versioned-v2"), stack.nats.url, { instanceId: `v2-${round}` });
    stack.plugins.push(v2);
    const load = openLoad(`${stack.url}/v1/versioned/work`, 16);
    await waitFor(() => load.outcomes.filter((o) => o.version === "2.1.0").length >= 20, { timeoutMs: 20_000, message: "traffic on v2" });
    v2.kill("SIGTERM");
    assert.equal((await v2.exited).code, 0, "v2 drained cleanly");
    const drainedAt = load.now();
    await waitFor(() => load.outcomes.filter((o) => o.at > drainedAt).length >= 50, { timeoutMs: 20_000, message: "load after the drain" });
    const outcomes = await load.stop();
    total += outcomes.length;
    assert.deepEqual(failures(outcomes), [], `round ${round}: ${describeFailures(outcomes)}`);
    assert.ok(outcomes.slice(-16).every((o) => o.version === "1.4.0"), "v1 serves after the rollback");
  }
  console.log(`rollback loop: 8 rounds, ${total} requests, 0 failed`);
});

test("ctx.call with a canary rule and a version range reaches the versions an HTTP call with the same rule reaches (±5 % over 1000 calls)", async () => {
  const dir = mkdtempSync(join(tmpdir(), "sy-canary-"));
  try {
    const rules = { plugins: { versioned: { canary: { "1.4.0": 70, "2.1.0": 30 } } } };
    const file = join(dir, "switchyard.config.json");
    writeFileSync(file, JSON.stringify(rules));
    await using stack = await startStack([], rules);
    stack.plugins.push(
      ...await Promise.all([
        startPlugin(fixturePath("versioned-v1"), stack.nats.url),
        startPlugin(fixturePath("versioned-v2"), stack.nats.url),
        startPlugin(fixturePath("canary-caller"), stack.nats.url, { args: ["--config", file] }),
      ]),
    );
    await stack.waitForInstances("versioned", 2);
    await stack.waitForInstances("canary-caller", 1);
    const http = await runLoad(`${stack.url}/v1/versioned/work`, { total: 1_000, concurrency: 8 });
    assert.equal(http.errors, 0);
    // The callee's version is in the caller's answer.
    const viaCall = new Map<string, number>();
    const instances = new Set<string>();
    for (let i = 0; i < 1_000; i++) {
      const res = await stack.post("canary-caller/call", {});
      viaCall.set(res.body.version, (viaCall.get(res.body.version) ?? 0) + 1);
      instances.add(res.body.instance);
    }
    const httpShare = pct(http.versions.get("1.4.0") ?? 0, 1_000);
    const callShare = pct(viaCall.get("1.4.0") ?? 0, 1_000);
    console.log(`canary 70/30: HTTP ${httpShare} % on 1.4.0, ctx.call ${callShare} %`);
    assert.ok(Math.abs(httpShare - 70) <= 5 && Math.abs(callShare - 70) <= 5, `HTTP ${httpShare} %, ctx.call ${callShare} %`);
    assert.equal(instances.size, 2, "both versions' instances, picked by the balancer");
    // A range given to ctx.call pins it, as x-plugin-version pins an HTTP call.
    for (let i = 0; i < 20; i++) assert.equal((await stack.post("canary-caller/call", { version: "^2" })).body.version, "2.1.0");
    const none = await stack.post("canary-caller/call", { version: "^9" });
    assert.equal(none.status, 503);
    assert.equal(none.body.error.code, "no_matching_version");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
