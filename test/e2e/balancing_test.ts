import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { ConfigSchema, resolveConfig } from "../../src/config/mod.ts";
import type { Config } from "../../src/config/mod.ts";
import { startRouter } from "../../src/cli/router_command.ts";
import type { StartedRouter } from "../../src/cli/router_command.ts";
import { captureLogger, waitFor } from "../../src/testing/mod.ts";
import { fixturePath, startAll, startPlugin, startStack } from "./_stack.ts";
import type { Stack } from "./_stack.ts";
import { pct, runLoad } from "./_load.ts";

const OUTLIER = { consecutiveFailures: 5, baseEjectionMs: 30_000, maxEjectionPercent: 50 };
// The plugin-wide circuit breaker (src/resilience/) is off here so the figures show balancing alone.
const NO_BREAKER: Config = "resilience" in ConfigSchema.entries ? { resilience: { breaker: { enabled: false } } } as Config : {};

describe("balancing across real plugin processes", () => {
  let stack: Stack;
  const routers: StartedRouter[] = [];
  /** Another router on the same bus, with its own registry and balancers. */
  const extraRouter = async (config: Config): Promise<string> => {
    const router = await startRouter(
      resolveConfig({ ...NO_BREAKER, ...config, nats: { servers: [stack.nats.url] }, router: { host: "127.0.0.1", port: 0 }, discovery: { intervalMs: 500 } }, {}),
      captureLogger(),
    );
    routers.push(router);
    return `http://127.0.0.1:${router.port}`;
  };

  before(async () => {
    stack = await startStack([], {
      discovery: { intervalMs: 500 },
      ...NO_BREAKER,
      balancing: { outlier: OUTLIER },
      plugins: {
        "tunable-even": { balancer: "round-robin", timeoutMs: 1_000 },
        "tunable-uneven": { balancer: "least-pending" },
        "tunable-outlier": { balancer: "least-pending" },
      },
    });
    const start = (fixture: string, instanceId: string, options: Record<string, unknown> = {}) =>
      startPlugin(fixturePath(fixture), stack.nats.url, { instanceId, args: ["--options", JSON.stringify(options)] });
    await startAll([
        start("tunable-even", "even-a"),
        start("tunable-even", "even-b"),
        // 200 ms: on a busy machine the 1 ms handler takes tens of ms, and least-pending's share follows
        // the ratio of the two latencies (50 ms against a starved "1 ms" gave the fast one only 68 %).
        start("tunable-uneven", "slow", { delayMs: 200 }),
        start("tunable-uneven", "fast", { delayMs: 1 }),
        start("tunable-outlier", "good-1"),
        start("tunable-outlier", "good-2"),
        start("tunable-outlier", "bad", { fail: true }),
    ], stack.plugins);
    await stack.waitForInstances("tunable-even", 2);
    await stack.waitForInstances("tunable-uneven", 2);
    await stack.waitForInstances("tunable-outlier", 3);
  });
  after(async () => {
    await Promise.all(routers.map((r) => r.stop()));
    await stack[Symbol.asyncDispose]();
  });

  test("round-robin gives two equal instances 40-60 % of 2000 requests each, least-pending 20-80 %", async () => {
    const lp = await extraRouter({ plugins: { "tunable-even": { balancer: "least-pending" } } });
    await waitForRouter(lp, "tunable-even", 2);
    for (const [name, base] of [["round-robin", stack.url], ["least-pending", lp]] as const) {
      const res = await runLoad(`${base}/v1/tunable-even/work`, { total: 2000, concurrency: 16 });
      const a = pct(res.instances.get("even-a") ?? 0, 2000);
      const b = pct(res.instances.get("even-b") ?? 0, 2000);
      console.log(`${name}: even-a ${a} %, even-b ${b} %, ${res.errors} errors, ${res.ms.toFixed(0)} ms`);
      assert.equal(res.errors, 0);
      // Round-robin alternates whatever the machine does. Least-pending follows how fast each process
      // answers, and on a busy machine two equal processes do not get equal CPU: it must spread the
      // load (neither starves), not split it evenly.
      const [low, high] = name === "round-robin" ? [40, 60] : [20, 80];
      assert.ok(a >= low && a <= high && b >= low && b <= high, `${name}: ${a} % / ${b} %`);
    }
  });

  test("least-pending sends ≥ 70 % to a 1 ms instance next to a 200 ms one (16 concurrent); other strategies for comparison", async () => {
    const res = await runLoad(`${stack.url}/v1/tunable-uneven/work`, { total: 2000, concurrency: 16 });
    const fast = pct(res.instances.get("fast") ?? 0, 2000);
    const rows = [`least-pending  fast ${fast} %  ${(2000 / res.ms * 1000).toFixed(0)} req/s`];
    for (const balancer of ["queue", "round-robin", "latency"] as const) {
      const url = await extraRouter({ plugins: { "tunable-uneven": { balancer } } });
      await waitForRouter(url, "tunable-uneven", 2);
      const other = await runLoad(`${url}/v1/tunable-uneven/work`, { total: 400, concurrency: 16 });
      rows.push(`${balancer.padEnd(13)}  fast ${pct(other.instances.get("fast") ?? 0, 400)} %  ${(400 / other.ms * 1000).toFixed(0)} req/s`);
    }
    console.log(`uneven handlers (1 ms vs 200 ms), 16 concurrent:\n  ${rows.join("\n  ")}`);
    assert.equal(res.errors, 0);
    assert.ok(fast >= 70, `the fast instance served ${fast} %`);
  });

  test("an always-failing instance is ejected: ≤ 2 % errors over 2000 requests, against ~33 % with plain queue", async () => {
    // Warm-up: the failing instance answers fastest, so least-pending finds it soon.
    await waitFor(async () => {
      await runLoad(`${stack.url}/v1/tunable-outlier/work`, { total: 20, concurrency: 4 });
      return (await catalogInstance(stack.url, "tunable-outlier", "bad")).ejected === true;
    }, { timeoutMs: 10_000, message: "the failing instance is ejected" });
    const bad = await catalogInstance(stack.url, "tunable-outlier", "bad");
    assert.equal(bad.ejections, 1);
    assert.ok(Date.parse(bad.ejectedUntil) > Date.now() + 20_000, "the first ejection lasts baseEjectionMs");
    assert.equal((await catalogInstance(stack.url, "tunable-outlier", "good-1")).ejected, false);

    const ejected = await runLoad(`${stack.url}/v1/tunable-outlier/work`, { total: 2000, concurrency: 16 });
    const queueUrl = await extraRouter({ balancing: { balancer: "queue" } });
    await waitForRouter(queueUrl, "tunable-outlier", 3);
    const queue = await runLoad(`${queueUrl}/v1/tunable-outlier/work`, { total: 2000, concurrency: 16 });
    console.log(`errors over 2000 requests: least-pending + ejection ${pct(ejected.errors, 2000)} %, plain queue ${pct(queue.errors, 2000)} %`);
    assert.ok(pct(ejected.errors, 2000) <= 2, `${ejected.errors} errors after ejection`);
    assert.ok(pct(queue.errors, 2000) >= 20, `queue saw ${queue.errors} errors`);
  });

  test("a killed instance costs at most its in-flight requests: no-responders retry elsewhere, then discovery drops it", async () => {
    const victim = stack.plugins.find((p) => p.lines.some((l) => l.includes('"even-b"')))!;
    assert.ok(victim, "the even-b process");
    const load = runLoad(`${stack.url}/v1/tunable-even/work`, { total: 1500, concurrency: 16 });
    await waitFor(() => (stack.router.registry.get("tunable-even")?.versions.get("1.0.0")?.instances.get("even-b")?.ewmaMs ?? 0) > 0);
    victim.kill("SIGKILL");
    const res = await load;
    console.log(`SIGKILL during load: ${res.errors} of 1500 failed (${[...res.statuses].map(([s, n]) => `${s}×${n}`).join(", ")})`);
    assert.ok(res.errors <= 16, `${res.errors} failed; at most the 16 in flight may`);
    assert.ok((res.instances.get("even-a") ?? 0) > 0);
    // No stopped event came: the periodic poll notices the silence.
    await waitFor(() => stack.router.registry.get("tunable-even")?.versions.get("1.0.0")?.instances.has("even-b") === false, {
      timeoutMs: 5_000,
      message: "even-b pruned",
    });
  });
});

async function catalogInstance(url: string, plugin: string, id: string): Promise<Record<string, any>> {
  const body = await (await fetch(`${url}/v1/plugins/${plugin}`)).json();
  return body.versions.flatMap((v: { instances: unknown[] }) => v.instances).find((i: { id: string }) => i.id === id);
}

async function waitForRouter(url: string, plugin: string, count: number): Promise<void> {
  await waitFor(async () => {
    const res = await fetch(`${url}/v1/plugins/${plugin}`);
    if (res.status !== 200) {
      await res.arrayBuffer();
      return false;
    }
    const body = await res.json();
    return body.versions.flatMap((v: { instances: unknown[] }) => v.instances).length >= count;
  }, { timeoutMs: 60_000, message: `${count} instances of ${plugin}` });
}
