import { test } from "node:test";
import assert from "node:assert/strict";
import { pluginPath, startPlugin, startStack } from "./_stack.ts";
import { waitFor } from "../../src/testing/mod.ts";

test("with the only instance stopped (SIGTERM), calls get 503 plugin_unavailable in under 100 ms", async () => {
  await using stack = await startStack([pluginPath("hello")]);
  // Warm the keep-alive connection and the code path, so the timing below is the router's answer.
  assert.equal((await stack.post("hello/greet", { name: "warm-up" })).status, 200);
  const status = await stack.plugins[0]!.stop(5_000);
  assert.equal(status.code, 0, "a drained plugin exits 0");
  await waitFor(() => [...stack.router.registry.get("hello")!.versions.values()].every((v) => v.instances.size === 0));
  const res = await stack.post("hello/greet", { name: "World" });
  assert.equal(res.status, 503);
  assert.equal(res.body.error.code, "plugin_unavailable");
  assert.ok(res.ms < 100, `took ${res.ms.toFixed(1)} ms`);
});

test("with the only instance killed (-9), NATS no-responders gives 503 at once, not after the timeout", async () => {
  await using stack = await startStack([pluginPath("hello")]);
  assert.equal((await stack.post("hello/greet", { name: "warm-up" })).status, 200);
  stack.plugins[0]!.kill("SIGKILL");
  await stack.plugins[0]!.exited;
  // The router has not noticed (no stopped event): the request goes out and NATS answers no-responders.
  const res = await stack.post("hello/greet", { name: "World" });
  assert.equal(res.status, 503);
  assert.equal(res.body.error.code, "plugin_unavailable");
  assert.ok(res.ms < 100, `took ${res.ms.toFixed(1)} ms`);
  // A new instance is picked up without a restart of the router.
  stack.plugins.push(await startPlugin(pluginPath("hello"), stack.nats.url));
  await waitFor(async () => (await stack.post("hello/greet", { name: "again" })).status === 200);
});
