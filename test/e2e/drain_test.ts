import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { currentRuntime, runtimeCommand } from "../../src/runtime/mod.ts";
import { captureLogger, spawnProcess, waitFor } from "../../src/testing/mod.ts";
import { resolveConfig } from "../../src/config/mod.ts";
import { startRouter } from "../../src/cli/router_command.ts";
import type { ProcessHandle } from "../../src/testing/mod.ts";
import { callOverBus, CLI, fixturePath, startPlugin, startStack } from "./_stack.ts";
import type { Stack } from "./_stack.ts";
import { describeLoad, failuresOf, startLoad } from "./_load_client.ts";

const DRAIN_TIMEOUT_MS = 5_000;
const PLUGINS = [{ name: "drain-fast", delayMs: 20 }, { name: "drain-slow", delayMs: 300 }] as const;

describe("draining plugin instances under load", () => {
  let stack: Stack;
  const running = new Map<string, ProcessHandle[]>();
  const start = async (name: string, delayMs: number, instanceId: string) => {
    const proc = await startPlugin(fixturePath(name), stack.nats.url, {
      instanceId,
      args: ["--options", JSON.stringify({ delayMs }), "--drain-timeout", String(DRAIN_TIMEOUT_MS)],
    });
    stack.plugins.push(proc);
    running.get(name)!.push(proc);
  };

  before(async () => {
    // A timeout no held request reaches: they stay in flight until the test releases them, however
    // slow the machine is at starting the drain CLI.
    stack = await startStack([], { admin: { enabled: true }, plugins: { faulty: { timeoutMs: 600_000 } } });
    for (const p of PLUGINS) running.set(p.name, []);
    await Promise.all([
      ...PLUGINS.flatMap((p) => [start(p.name, p.delayMs, `${p.name}-a`), start(p.name, p.delayMs, `${p.name}-b`)]),
      (async () => stack.plugins.push(await startPlugin(fixturePath("faulty"), stack.nats.url, { instanceId: "faulty-1" })))(),
    ]);
    for (const p of PLUGINS) await stack.waitForInstances(p.name, 2);
    await stack.waitForInstances("faulty", 1);
  });
  after(() => stack[Symbol.asyncDispose]());

  test("SIGTERM one of two instances under load (16 clients; 20 ms and 300 ms handlers): 0 failed requests in 3 of 3 runs, exit 0 within the drain timeout", async () => {
    for (let run = 1; run <= 3; run++) {
      // Both handler speeds at once: a load process and a victim each.
      await Promise.all(PLUGINS.map(async ({ name, delayMs }) => {
        // Ended by the test once enough requests came after the victim left (10 s at most).
        const load = startLoad({ url: `${stack.url}/v1/${name}/work`, durationMs: 10_000 });
        await load.running;
        const [victim, survivor] = running.get(name)!.splice(0, 2) as [ProcessHandle, ProcessHandle];
        const victimId = instanceIdOf(victim);
        // SIGTERM while the victim is busy: it has answered, and the router has requests out to it.
        await waitFor(() => {
          const entry = instanceEntry(stack, name, victimId);
          return entry !== undefined && entry.ewmaMs > 0 && entry.pending >= (delayMs === 20 ? 1 : 2);
        }, { timeoutMs: 20_000, intervalMs: 2, message: `${victimId} busy` });
        const killedAt = Date.now();
        victim.kill("SIGTERM");
        const status = await victim.exited;
        const exitMs = Date.now() - killedAt;
        await load.waitForMore(50);
        const records = await load.stop();
        const failures = failuresOf(records);
        const served = (id: string) => records.filter((r) => r.instance === id).length;
        const drainLine = victim.lines.find((l) => l.includes('"msg":"draining"'));
        const runningAtSigterm = drainLine === undefined ? -1 : (JSON.parse(drainLine) as { inflight: number }).inflight;
        console.log(
          `run ${run}, ${delayMs} ms handlers: ${describeLoad(records)}; victim had ${runningAtSigterm} handlers running at SIGTERM, ` +
            `exit ${status.code} after ${exitMs} ms; victim served ${served(victimId)}, survivor ${served(instanceIdOf(survivor))}`,
        );
        assert.deepEqual(failures, [], `run ${run} (${delayMs} ms): ${describeLoad(records)}`);
        assert.equal(status.code, 0, victim.lines.slice(-10).join("\n"));
        // "drained … aborted:false" below says the drain ended within its timeout; the rest is the
        // process's own teardown, slower on a loaded machine.
        assert.ok(exitMs < DRAIN_TIMEOUT_MS + 5_000, `exit after ${exitMs} ms`);
        assert.ok(victim.lines.some((l) => l.includes('"drained"') && l.includes('"aborted":false')), "the victim drained without aborting");
        assert.ok(served(victimId) > 0 && served(instanceIdOf(survivor)) > 0, "both instances served");
        assert.ok(records.some((r) => r.start > killedAt + delayMs), "requests went on after the SIGTERM");
        // A fresh second instance for the next run.
        running.get(name)!.push(survivor);
        await start(name, delayMs, `${name}-${run}`);
        await stack.waitForInstances(name, 2);
      }));
    }
  });

  test("drainPlugin through `switchyard drain`: new requests 503 draining, in-flight ones finish, the catalog shows counts, --resume routes again", async () => {
    // Held in the plugin until released below: in flight for as long as the test needs, however slow the machine.
    const key = "drain-cli";
    const inFlight = Array.from({ length: 4 }, () => stack.post("faulty/hold", { key }));
    try {
      await waitFor(async () => (await catalog(stack.url, "faulty")).inFlight === 4, { timeoutMs: 20_000, message: "4 in flight in the catalog" });
      const instance = (await catalog(stack.url, "faulty")).versions[0].instances[0];
      assert.equal(instance.inFlight, 4, "per-instance count");
      await using drain = spawnProcess(runtimeCommand(currentRuntime(), CLI, ["drain", "faulty", "--router", stack.url, "--timeout", "60000"]), { name: "drain" });
      // The CLI's first progress line comes once the router has started the drain.
      await drain.waitForLine("faulty: 4 in flight", 30_000);
      assert.equal((await catalog(stack.url, "faulty")).draining, true);
      const refused = await stack.post("faulty/calls", {});
      assert.equal(refused.status, 503);
      assert.equal(refused.body.error.code, "draining");
      assert.equal(refused.headers.get("retry-after"), "1");
      assert.deepEqual(await callOverBus(stack.router.nc, "faulty", "release", { key }), { released: 4 });
      const done = await Promise.all(inFlight);
      assert.deepEqual(done.map((r) => [r.status, r.body]), Array(4).fill([200, { aborted: false }]));
      assert.equal((await drain.exited).code, 0, drain.lines.join("\n"));
      const out = drain.lines.filter((l) => l.startsWith("faulty:"));
      assert.match(out.at(-1)!, /^faulty: drained \(4 in flight at the start, \d+ ms\)/, drain.lines.join("\n"));
      // Each count once: a progress line only when the count changes, none for the 0 the result states.
      assert.equal(out.length, 2, drain.lines.join("\n"));
      assert.match(out[0]!, /^faulty: 4 in flight \(\d+\.\d s\)$/);
      assert.equal((await catalog(stack.url, "faulty")).inFlight, 0);

      await using resume = spawnProcess(runtimeCommand(currentRuntime(), CLI, ["drain", "faulty", "--router", stack.url, "--resume"]), { name: "resume" });
      assert.equal((await resume.exited).code, 0);
      assert.deepEqual(resume.lines.filter((l) => l !== ""), ["faulty: routed to again"]);
      assert.equal((await stack.post("faulty/calls", {})).status, 200);
    } finally {
      // Whatever failed above, the next test finds faulty idle and routed to.
      await callOverBus(stack.router.nc, "faulty", "release", { key });
      await Promise.all(inFlight);
      stack.router.lifecycle.resumePlugin("faulty");
    }
  });

  test("drainPlugin with force aborts what is still running at the timeout with 503 draining; without force it reports what remains", async () => {
    const key = "drain-force";
    const slow = Array.from({ length: 3 }, () => stack.post("faulty/hold", { key }));
    try {
      await waitFor(async () => (await catalog(stack.url, "faulty")).inFlight === 3, { timeoutMs: 20_000, message: "3 in flight" });
      const progress: number[] = [];
      const soft = await stack.router.drainPlugin("faulty", { timeoutMs: 100, onProgress: (p) => progress.push(p.inflight) });
      assert.deepEqual({ drained: soft.drained, remaining: soft.remaining, aborted: soft.aborted }, { drained: false, remaining: 3, aborted: 0 });
      assert.equal(progress[0], 3);
      const forced = await stack.router.drainPlugin("faulty", { timeoutMs: 100, force: true });
      assert.deepEqual({ drained: forced.drained, remaining: forced.remaining, aborted: forced.aborted }, { drained: false, remaining: 0, aborted: 3 });
      const replies = await Promise.all(slow);
      assert.deepEqual(replies.map((r) => [r.status, r.body.error?.code]), Array(3).fill([503, "draining"]));
      // The aborts count against neither the breaker nor the instance.
      const entry = await catalog(stack.url, "faulty");
      assert.equal(entry.resilience.breaker.state, "closed");
      assert.equal(entry.versions[0].instances[0].consecutiveFailures, 0);
    } finally {
      // The plugin still holds what the router gave up on: let it go, and route to faulty again.
      await callOverBus(stack.router.nc, "faulty", "release", { key });
      await Promise.all(slow);
      stack.router.lifecycle.resumePlugin("faulty");
    }
    assert.equal((await stack.post("faulty/calls", {})).status, 200);
  });

  test("admin routes: 404 when off, 401 without the token, 422 for a bad body, 404 for an unknown plugin", async () => {
    const token = "s3cret-admin-token-0123";
    for (const [admin, headers, status] of [
      [{}, {}, 404],
      [{ enabled: true, token }, {}, 401],
      [{ enabled: true, token }, { authorization: "Bearer wrong-token-wrong-token" }, 401],
      [{ enabled: true, token }, { authorization: `Bearer ${token}` }, 200],
    ] as const) {
      const other = await startRouter(resolveConfig({ admin, nats: { servers: [stack.nats.url] }, router: { host: "127.0.0.1", port: 0 } }, {}), captureLogger());
      try {
        const res = await fetch(`http://127.0.0.1:${other.port}/admin/inflight`, { headers });
        const body = await res.json();
        assert.equal(res.status, status, JSON.stringify({ admin, headers, body }));
        if (status === 401) assert.equal(res.headers.get("www-authenticate"), 'Bearer realm="switchyard-admin"');
        if (status !== 200) assert.equal(body.error.code, status === 404 ? "not_found" : "unauthorized");
      } finally {
        await other.stop();
      }
    }
    const res = await fetch(`${stack.url}/admin/plugins/faulty/drain`, { method: "POST", headers: { "content-type": "application/json" }, body: '{"timeoutMs":"soon"}' });
    assert.equal(res.status, 422);
    assert.equal((await res.json()).error.issues[0].path, "timeoutMs");
    const unknown = await fetch(`${stack.url}/admin/plugins/nobody/drain`, { method: "POST" });
    assert.equal(unknown.status, 404);
    await unknown.arrayBuffer();
    const inflight = await (await fetch(`${stack.url}/admin/inflight`)).json();
    assert.equal(inflight.total, 0);
    assert.equal(inflight.shuttingDown, false);
    const config = stack.router.configWatcher;
    assert.equal(config, undefined, "no config file, no watch");
  });
});

function instanceIdOf(proc: ProcessHandle): string {
  const line = proc.lines.find((l) => l.includes("plugin ready"))!;
  return (JSON.parse(line) as { instance: string }).instance;
}

function instanceEntry(stack: Stack, plugin: string, id: string) {
  return stack.router.registry.get(plugin)?.versions.get("1.0.0")?.instances.get(id);
}

async function catalog(url: string, plugin: string): Promise<any> {
  return await (await fetch(`${url}/v1/plugins/${plugin}`)).json();
}
