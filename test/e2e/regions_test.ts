/**
 * Two regions: two one-node NATS clusters joined by a gateway on loopback, a router in region a,
 * hello instances in both. The router keeps traffic in its region, fails over to the other when
 * its region has none left, and comes back when one returns.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { connectBus } from "../../src/bus/mod.ts";
import { resolveConfig } from "../../src/config/mod.ts";
import { startRouter } from "../../src/cli/router_command.ts";
import { captureLogger, freePort, startNatsServer, waitFor } from "../../src/testing/mod.ts";
import type { NatsServer, ProcessHandle } from "../../src/testing/mod.ts";
import { pluginPath, startPlugin } from "./_stack.ts";

const CONCURRENCY = 8;

/**
 * Waits until a message published in `a` reaches a subscriber in `b`: the gateway is up. Started
 * before that, an instance's announcement in b would not cross, and the router would learn of it
 * only at its next roll call.
 */
async function gatewayUp(a: NatsServer, b: NatsServer): Promise<void> {
  const [ca, cb] = await Promise.all([connectBus({ servers: [a.url] }), connectBus({ servers: [b.url] })]);
  try {
    let crossed = false;
    const sub = cb.subscribe("probe.gateway", { callback: () => void (crossed = true) });
    await cb.flush();
    await waitFor(async () => {
      ca.publish("probe.gateway");
      await ca.flush();
      return crossed;
    }, { timeoutMs: 30_000, intervalMs: 100, message: "a message from a to b across the gateway" });
    sub.unsubscribe();
  } finally {
    await Promise.all([ca.close(), cb.close()]);
  }
}

async function gatewayPair(): Promise<[NatsServer, NatsServer]> {
  const [ga, gb] = [await freePort(), await freePort()];
  const gateway = (name: string, port: number, other: string, otherPort: number) =>
    `server_name: "${name}"\ngateway {\n  name: "${name}"\n  listen: "127.0.0.1:${port}"\n  gateways: [{ name: "${other}", urls: ["nats://127.0.0.1:${otherPort}"] }]\n}\n`;
  const a = await startNatsServer({ config: gateway("a", ga, "b", gb) });
  try {
    const b = await startNatsServer({ config: gateway("b", gb, "a", ga) });
    await gatewayUp(a, b).catch(async (err) => {
      await b.stop();
      throw err;
    });
    return [a, b];
  } catch (err) {
    await a.stop();
    throw err;
  }
}

test("a router in region a keeps traffic in a, fails over to b when a has no instance left, and comes back", async () => {
  const [natsA, natsB] = await gatewayPair();
  const logs = captureLogger();
  const plugins: ProcessHandle[] = [];
  const router = await startRouter(
    resolveConfig({ region: "a", nats: { servers: [natsA.url] }, router: { host: "127.0.0.1", port: 0 }, discovery: { intervalMs: 500 } }, {}),
    logs,
  );
  const start = (nats: NatsServer, region: string, id: string) =>
    startPlugin(pluginPath("hello"), nats.url, { instanceId: id, args: ["--region", region] }).then((p) => (plugins.push(p), p));
  const url = `http://127.0.0.1:${router.port}/v1/hello/greet`;
  let running = true;
  const served: { at: number; instance: string; status: number }[] = [];
  const t0 = performance.now();
  const client = async () => {
    while (running) {
      const res = await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: '{"name":"x"}' });
      await res.arrayBuffer();
      served.push({ at: performance.now() - t0, instance: res.headers.get("x-plugin-instance") ?? "", status: res.status });
    }
  };
  let load: Promise<unknown> | undefined;
  try {
    const [a1, a2] = await Promise.all([start(natsA, "a", "a-1"), start(natsA, "a", "a-2"), start(natsB, "b", "b-1"), start(natsB, "b", "b-2")]);
    await waitFor(() => (router.registry.pick("hello", undefined)?.instances.size ?? 0) === 4, { timeoutMs: 20_000, message: "all four instances known, across the gateway" });
    load = Promise.all(Array.from({ length: CONCURRENCY }, client));
    await waitFor(() => served.length >= 400, { timeoutMs: 20_000, message: "load on region a" });
    assert.deepEqual([...new Set(served.map((s) => s.instance))].sort(), ["a-1", "a-2"], "only region a's instances serve");

    // Region a loses every instance at once.
    const killedAt = performance.now() - t0;
    a1!.kill("SIGKILL");
    a2!.kill("SIGKILL");
    await waitFor(() => served.filter((s) => s.at > killedAt + 1_000).length >= 100, { timeoutMs: 20_000, message: "load after the kill" });
    const after = served.filter((s) => s.at > killedAt);
    const failed = after.filter((s) => s.status !== 200);
    const firstB = after.find((s) => s.instance.startsWith("b-"));
    console.log(`region a killed: ${failed.length} failed, region b serving ${firstB === undefined ? "never" : `${(firstB.at - killedAt).toFixed(0)} ms`} after the kill`);
    assert.ok(failed.length <= CONCURRENCY, `${failed.length} failed`);
    assert.ok(firstB !== undefined && firstB.at - killedAt <= 1_000, "region b takes over within 1 s");
    assert.ok(after.filter((s) => s.at > killedAt + 1_000).every((s) => s.status === 200 && s.instance.startsWith("b-")));

    // One instance comes back in region a: traffic follows it home.
    const back = performance.now() - t0;
    await start(natsA, "a", "a-3");
    await waitFor(() => served.some((s) => s.at > back && s.instance === "a-3"), { timeoutMs: 20_000, message: "a-3 serves" });
    const home = served.find((s) => s.at > back && s.instance === "a-3")!;
    await waitFor(() => served.filter((s) => s.at > home.at).length >= 100, { timeoutMs: 20_000, message: "load after the return" });
    assert.ok(served.filter((s) => s.at > home.at + 200).every((s) => s.instance === "a-3"), "back in region a");
  } catch (err) {
    // What the router saw, for a failure on a machine we cannot look at.
    console.log(logs.entries.map((e) => `${e.msg} ${JSON.stringify(e.attrs)}`).join("\n"));
    throw err;
  } finally {
    running = false;
    await load;
    await Promise.all(plugins.map((p) => p.stop(5_000)));
    await router.stop();
    await natsB.stop();
    await natsA.stop();
  }
});
