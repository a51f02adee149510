import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { connectBus, instanceSubjectBase, versionSubjectBase } from "../../src/bus/mod.ts";
import { startNatsServer, waitFor } from "../../src/testing/mod.ts";
import { fixturePath, startPlugin, startStack } from "./_stack.ts";
import { startRouterProcess } from "./_router_process.ts";
import type { Stack } from "./_stack.ts";
import { fetchStream } from "./_stream_client.ts";

const DRAIN_MS = 1_500;
const encoder = new TextEncoder();

/** Calls a streamy method over NATS, past the router (which refuses requests while it drains). */
async function callOverNats(
  stack: Stack,
  method: string,
  input: unknown,
  instanceId?: string,
): Promise<void> {
  const nc = await connectBus({ servers: [stack.nats.url] });
  try {
    const base = instanceId === undefined
      ? versionSubjectBase("sy", "streamy", "1.0.0")
      : instanceSubjectBase("sy", "streamy", instanceId);
    await nc.request(`${base}.${method}`, encoder.encode(JSON.stringify(input)), { timeout: 10_000 });
  } finally {
    await nc.close();
  }
}

async function stackWithPlugin(id: string): Promise<Stack> {
  const stack = await startStack([], { router: { drainTimeoutMs: DRAIN_MS } });
  stack.plugins.push(
    await startPlugin(fixturePath("streamy"), stack.nats.url, {
      instanceId: id,
      args: ["--drain-timeout", String(DRAIN_MS)],
    }),
  );
  await stack.waitForInstances("streamy", 1);
  return stack;
}

describe("draining with streams in flight", () => {
  test("router shutdown: a stream that ends within the drain timeout ends normally; new requests get 503 meanwhile", async () => {
    await using stack = await stackWithPlugin("rd-1");
    const s = await fetchStream(`${stack.url}/v1/streamy/ticks`, { n: 3, name: "rd1", gateAfter: 1 });
    assert.deepEqual(JSON.parse((await s.nextLine())!), { i: 0 });
    const stopping = stack.router.stop();
    await waitFor(() => stack.router.lifecycle.shuttingDown);
    assert.equal(stack.router.lifecycle.tracker.total, 1, "the stream is in flight");
    const refused = await fetch(`${stack.url}/v1/streamy/stats`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{}",
    });
    assert.equal(refused.status, 503);
    await refused.body?.cancel();
    await callOverNats(stack, "open", { name: "rd1" });
    assert.deepEqual((await s.rest()).map((l) => JSON.parse(l)), [{ i: 1 }, { i: 2 }]);
    assert.equal(await stopping, 0, "nothing was aborted");
  });

  test("router shutdown: a stream still running at the drain timeout ends with a draining error item", async () => {
    await using stack = await stackWithPlugin("rd-2");
    const s = await fetchStream(`${stack.url}/v1/streamy/hang`, { name: "rd2" });
    assert.deepEqual(JSON.parse((await s.nextLine())!), { i: 0 });
    const t0 = performance.now();
    const stopping = stack.router.stop();
    const last = JSON.parse((await s.nextLine())!);
    const ms = performance.now() - t0;
    assert.equal(last.error.code, "draining");
    assert.ok(ms >= DRAIN_MS - 50, `ended after ${ms} ms, before the drain timeout`);
    assert.equal(await s.nextLine(), undefined);
    assert.equal(await stopping, 75, "the router reports the aborted stream");
    await stack.plugins[0]!.waitForLine('"event":"finally"', 10_000);
  });

  test("switchyard router, SIGTERM: a stream still running at the drain timeout ends with a draining error item; exit 75", async () => {
    await using nats = await startNatsServer();
    await using plugin = await startPlugin(fixturePath("streamy"), nats.url, { instanceId: "rs-1" });
    await using router = await startRouterProcess(nats.url, {
      config: { router: { drainTimeoutMs: DRAIN_MS } },
      plugins: ["streamy"],
    });
    const s = await fetchStream(`${router.url}/v1/streamy/hang`, { name: "rs1" });
    assert.deepEqual(JSON.parse((await s.nextLine())!), { i: 0 });
    const t0 = performance.now();
    router.kill("SIGTERM");
    const last = JSON.parse((await s.nextLine())!);
    const ms = performance.now() - t0;
    assert.equal(last.error.code, "draining");
    assert.ok(ms >= DRAIN_MS - 50, `ended after ${ms} ms, before the drain timeout`);
    assert.equal((await router.exited).code, 75);
    await plugin.waitForLine('"event":"finally"', 10_000);
  });

  test("plugin drain at the router: waits for the stream; with force, ends it with a draining error item at the timeout", async () => {
    await using stack = await stackWithPlugin("pd-1");
    const s = await fetchStream(`${stack.url}/v1/streamy/hang`, { name: "pd1" });
    assert.deepEqual(JSON.parse((await s.nextLine())!), { i: 0 });
    const soft = await stack.router.drainPlugin("streamy", { timeoutMs: 300 });
    assert.deepEqual({ drained: soft.drained, remaining: soft.remaining, aborted: soft.aborted }, {
      drained: false,
      remaining: 1,
      aborted: 0,
    });
    const forced = await stack.router.drainPlugin("streamy", { timeoutMs: 300, force: true });
    assert.deepEqual({ drained: forced.drained, remaining: forced.remaining, aborted: forced.aborted }, {
      drained: false,
      remaining: 0,
      aborted: 1,
    });
    assert.equal(JSON.parse((await s.nextLine())!).error.code, "draining");
    assert.equal(await s.nextLine(), undefined);
    await stack.plugins[0]!.waitForLine('"event":"finally"', 10_000);
    assert.equal(stack.router.lifecycle.resumePlugin("streamy"), true);
    const again = await fetchStream(`${stack.url}/v1/streamy/ticks`, { n: 2 });
    assert.deepEqual((await again.rest()).map((l) => JSON.parse(l).i), [0, 1]);
  });

  test("plugin SIGTERM: a stream that ends within the plugin's drain timeout ends normally, and the instance exits 0", async () => {
    await using stack = await stackWithPlugin("ps-1");
    const s = await fetchStream(`${stack.url}/v1/streamy/ticks`, { n: 3, name: "ps1", gateAfter: 1 });
    assert.deepEqual(JSON.parse((await s.nextLine())!), { i: 0 });
    const plugin = stack.plugins[0]!;
    plugin.kill("SIGTERM");
    await plugin.waitForLine('"msg":"draining"');
    // Its instance subject still serves while the stream runs.
    await callOverNats(stack, "open", { name: "ps1" }, "ps-1");
    assert.deepEqual((await s.rest()).map((l) => JSON.parse(l)), [{ i: 1 }, { i: 2 }]);
    assert.equal((await plugin.exited).code, 0);
    assert.ok(
      plugin.lines.some((l) => l.includes('"drained"') && l.includes('"aborted":false')),
      plugin.lines.slice(-5).join("\n"),
    );
  });

  test("plugin SIGTERM: a stream still running at the plugin's drain timeout ends with a draining error item; finally runs", async () => {
    await using stack = await stackWithPlugin("ps-2");
    const s = await fetchStream(`${stack.url}/v1/streamy/hang`, { name: "ps2" });
    assert.deepEqual(JSON.parse((await s.nextLine())!), { i: 0 });
    const plugin = stack.plugins[0]!;
    const t0 = performance.now();
    plugin.kill("SIGTERM");
    const last = JSON.parse((await s.nextLine())!);
    const ms = performance.now() - t0;
    assert.equal(last.error.code, "draining", JSON.stringify(last));
    assert.ok(ms >= DRAIN_MS - 50, `ended after ${ms} ms, before the drain timeout`);
    assert.equal(await s.nextLine(), undefined);
    assert.equal((await plugin.exited).code, 0);
    assert.ok(plugin.lines.some((l) => l.includes('"event":"finally"')), "the generator's finally ran");
  });
});
