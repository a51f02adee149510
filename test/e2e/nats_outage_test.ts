import { test } from "node:test";
import assert from "node:assert/strict";
import { resolveConfig } from "../../src/config/mod.ts";
import { startRouter } from "../../src/cli/router_command.ts";
import { captureLogger, freePort, startNatsServer, waitFor } from "../../src/testing/mod.ts";
import { pluginPath, startPlugin } from "./_stack.ts";

test("after a NATS outage long enough to forget every instance, the router routes again within 5 s of the server's return", async () => {
  const port = await freePort();
  let nats = await startNatsServer({ port });
  const logs = captureLogger();
  // A roll call every 300 ms: three missed (the outage) and the router has dropped the instance,
  // as a 30 s outage does with the default 5 s interval.
  const router = await startRouter(
    resolveConfig({ nats: { servers: [nats.url] }, router: { host: "127.0.0.1", port: 0 }, discovery: { intervalMs: 300, rollCallMs: 300 } }, {}),
    logs,
  );
  const plugin = await startPlugin(pluginPath("hello"), nats.url);
  const url = `http://127.0.0.1:${router.port}`;
  const greet = () => fetch(`${url}/v1/hello/greet`, { method: "POST", headers: { "content-type": "application/json" }, body: '{"name":"Ada"}' });
  try {
    await waitFor(() => router.registry.pick("hello", undefined) != null, { message: "hello routed" });
    assert.equal((await greet()).status, 200);
    await nats.stop();
    await waitFor(async () => (await fetch(`${url}/health`)).status === 503, { message: "the router reports NATS down" });
    await waitFor(() => router.registry.pick("hello", undefined) == null, { timeoutMs: 20_000, message: "the instance forgotten" });
    const down = await greet();
    assert.equal(down.status, 503);
    assert.equal((await down.json() as { error: { code: string } }).error.code, "plugin_unavailable");

    nats = await startNatsServer({ port });
    const back = performance.now();
    await waitFor(async () => (await greet()).status === 200, { timeoutMs: 10_000, intervalMs: 20, message: "routed again" });
    const ms = performance.now() - back;
    console.log(`NATS back → hello routed again after ${ms.toFixed(0)} ms`);
    assert.ok(ms <= 5_000, `${ms.toFixed(0)} ms`);
    assert.ok(logs.entries.some((e) => e.msg === "instance joined" && e.attrs.plugin === "hello"));
  } finally {
    await plugin.stop(5_000);
    await router.stop();
    await nats.stop();
  }
});
