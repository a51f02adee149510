import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync, renameSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pipelineSettings, resolveConfig } from "../../src/config/mod.ts";
import { ConfigWatcher, diffConfig, isSupervisorPath } from "../../src/config/mod.ts";
import type { ConfigConsumer } from "../../src/config/mod.ts";
import { captureLogger, waitFor } from "../../src/testing/mod.ts";
import { Balancing, VersionRules } from "../../src/balancing/mod.ts";
import { Registry } from "../../src/registry/mod.ts";
import { ResiliencePolicies } from "../../src/resilience/mod.ts";
import { FakeClock } from "../../src/testing/mod.ts";

test("diffConfig() names changed leaves by dotted path; arrays and added keys are one path each", () => {
  const a = { router: { port: 1, timeoutMs: 5 }, nats: { servers: ["a"] }, plugins: { x: { timeoutMs: 1, options: { step: 1 } } } };
  const b = { router: { port: 1, timeoutMs: 6 }, nats: { servers: ["a", "b"] }, plugins: { x: { timeoutMs: 1, options: { step: 2 } }, y: { replicas: 2 } } };
  assert.deepEqual(diffConfig(a, b), ["nats.servers", "plugins.x.options.step", "plugins.y", "router.timeoutMs"]);
  assert.deepEqual(diffConfig(a, structuredClone(a)), []);
  assert.deepEqual(["plugins.x.options.step", "plugins.x.replicas", "supervisor.restart.baseDelayMs", "plugins.x.timeoutMs", "plugins.y"].map(isSupervisorPath), [true, true, true, false, false]);
});

test("ConfigWatcher applies a valid edit with an audit line, keeps the config on a malformed one and logs each path, sees rename-saves", async () => {
  const dir = mkdtempSync(join(tmpdir(), "sy-config-"));
  const path = join(dir, "switchyard.config.json");
  const logger = captureLogger();
  const seen: string[][] = [];
  const consumer: ConfigConsumer = {
    name: "test",
    apply: (next, changed) => {
      seen.push([...changed, `timeout=${next.plugins.hello?.timeoutMs}`]);
      return { applied: changed.filter((p) => p.startsWith("plugins.")), needsRestart: changed.filter((p) => p.startsWith("router.port")) };
    },
  };
  writeFileSync(path, JSON.stringify({ plugins: { hello: { timeoutMs: 1_000 } } }));
  const watcher = new ConfigWatcher({ path, env: {}, initial: resolveConfig({ plugins: { hello: { timeoutMs: 1_000 } } }, {}), consumers: [consumer], logger, debounceMs: 20 });
  try {
    const first = watcher.sha256;
    writeFileSync(path, JSON.stringify({ router: { port: 9 }, plugins: { hello: { timeoutMs: 250 } } }));
    await waitFor(() => seen.length === 1, { timeoutMs: 3_000, message: "the edit applied" });
    assert.deepEqual(seen[0], ["plugins.hello.timeoutMs", "router.port", "timeout=250"]);
    const audit = logger.entries.find((e) => e.msg === "config reloaded")!;
    assert.deepEqual(audit.attrs.applied, ["plugins.hello.timeoutMs"]);
    assert.deepEqual(audit.attrs.needsRestart, ["router.port"]);
    assert.equal(audit.attrs.previousSha256, first);
    assert.match(audit.attrs.sha256 as string, /^[0-9a-f]{64}$/);

    writeFileSync(path, JSON.stringify({ plugins: { hello: { timeoutMs: -5, bogus: 1 } } }));
    await waitFor(() => logger.entries.some((e) => e.msg.startsWith("config rejected")), { timeoutMs: 3_000 });
    const rejected = logger.entries.find((e) => e.msg.startsWith("config rejected"))!;
    assert.deepEqual((rejected.attrs.problems as string[]).map((p) => p.split(":")[0]), ["plugins.hello.timeoutMs", "plugins.hello.bogus"]);
    assert.equal(watcher.current.plugins.hello?.timeoutMs, 250, "the running config stays");
    writeFileSync(path, "{ not json");
    await waitFor(() => logger.entries.filter((e) => e.msg.startsWith("config rejected")).length === 2, { timeoutMs: 3_000 });

    // An editor's save: write a new file and rename it over the old one.
    writeFileSync(join(dir, "tmp.json"), JSON.stringify({ plugins: { hello: { timeoutMs: 500 } } }));
    renameSync(join(dir, "tmp.json"), path);
    await waitFor(() => seen.length === 2, { timeoutMs: 3_000, message: "the renamed file applied" });
    assert.equal(seen[1]!.at(-1), "timeout=500");
    assert.equal((await watcher.reload()).status, "unchanged");
  } finally {
    watcher.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test("ResiliencePolicies.reconfigure() keeps an open breaker whose settings did not change, and rebuilds one whose settings did", () => {
  const clock = new FakeClock(1_000);
  const config = resolveConfig({ plugins: { a: { timeoutMs: 100 }, b: { breaker: { consecutiveFailures: 2 } } } }, {});
  const policies = new ResiliencePolicies(pipelineSettings(config), { clock });
  const a = policies.plugin("a");
  const b = policies.plugin("b");
  for (let i = 0; i < 5; i++) a.breaker!.record("failure");
  assert.equal(a.breaker!.state, "open");
  const next = resolveConfig({ plugins: { a: { timeoutMs: 200 }, b: { breaker: { consecutiveFailures: 3 } } } }, {});
  policies.reconfigure(pipelineSettings(next));
  const a2 = policies.plugin("a");
  assert.notEqual(a2, a);
  assert.equal(a2.method("any").timeoutMs, 200, "the new timeout");
  assert.equal(a2.breaker, a.breaker, "same breaker settings: same breaker, still open");
  assert.equal(a2.breaker!.state, "open");
  assert.equal(a2.budget, a.budget);
  assert.notEqual(policies.plugin("b").breaker, b.breaker, "changed breaker settings: a new breaker");
  assert.equal(policies.plugin("b").breaker!.settings.consecutiveFailures, 3);
});

test("Balancing.reconfigure() and VersionRules.reconfigure(): new strategies and rules apply, an unchanged strategy keeps its state", () => {
  const config = resolveConfig({ plugins: { a: { balancer: "round-robin" }, b: { balancer: "round-robin" }, c: { version: "^1" } } }, {});
  const balancing = new Balancing(pipelineSettings(config));
  const a = balancing.balancerFor("a");
  const b = balancing.balancerFor("b");
  assert.equal(a.name, "round-robin");
  const next = resolveConfig({ balancing: { balancer: "latency" }, plugins: { a: { balancer: "round-robin" }, b: { balancer: "weighted" } } }, {});
  balancing.reconfigure(pipelineSettings(next));
  assert.equal(balancing.balancerFor("a"), a, "unchanged: the same object, round-robin position kept");
  assert.notEqual(balancing.balancerFor("b"), b);
  assert.equal(balancing.balancerFor("b").name, "weighted");
  assert.equal(balancing.balancerFor("other").name, "latency", "the new default");
  const registry = new Registry("sy");
  const rules = new VersionRules(config.plugins);
  assert.equal(rules.rangeFor(registry, "c"), "^1");
  rules.reconfigure(next.plugins);
  assert.equal(rules.rangeFor(registry, "c"), undefined);
});
