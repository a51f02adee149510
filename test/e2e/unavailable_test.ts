import { test } from "node:test";
import assert from "node:assert/strict";
import { NoRespondersError, RequestError } from "@nats-io/nats-core";
import type { NatsConnection } from "@nats-io/nats-core";
import { instanceSubjectBase, versionSubjectBase } from "../../src/bus/mod.ts";
import { pluginPath, startPlugin, startStack } from "./_stack.ts";
import { waitFor } from "../../src/testing/mod.ts";

/**
 * "At once" means long before the timeout (10 s by default), which is what these tests tell apart;
 * the bound leaves room for a loaded machine.
 */
const AT_ONCE_MS = 2_500;

/** True once NATS answers `subject` with no-responders: the server has dropped the dead subscriber. */
async function noResponders(nc: NatsConnection, subject: string): Promise<boolean> {
  try {
    await nc.request(subject, "{}", { timeout: 500 });
    return false;
  } catch (err) {
    return err instanceof NoRespondersError || (err instanceof RequestError && err.isNoResponders());
  }
}

test("with the only instance stopped (SIGTERM), calls get 503 plugin_unavailable at once", async () => {
  await using stack = await startStack([pluginPath("hello")]);
  // Warm the keep-alive connection and the code path, so the timing below is the router's answer.
  assert.equal((await stack.post("hello/greet", { name: "warm-up" })).status, 200);
  const status = await stack.plugins[0]!.stop(5_000);
  assert.equal(status.code, 0, "a drained plugin exits 0");
  await waitFor(() => [...stack.router.registry.get("hello")!.versions.values()].every((v) => v.instances.size === 0), { timeoutMs: 10_000 });
  const res = await stack.post("hello/greet", { name: "World" });
  assert.equal(res.status, 503);
  assert.equal(res.body.error.code, "plugin_unavailable");
  assert.ok(res.ms < AT_ONCE_MS, `took ${res.ms.toFixed(1)} ms`);
});

test("with the only instance killed (-9), NATS no-responders gives 503 at once, not after the timeout", async () => {
  // No discovery sweep during the test: only NATS can tell the router that the instance is gone.
  await using stack = await startStack([pluginPath("hello")], { discovery: { intervalMs: 600_000 } });
  assert.equal((await stack.post("hello/greet", { name: "warm-up" })).status, 200);
  const instance = [...stack.router.registry.get("hello")!.versions.get("1.2.0")!.instances.keys()][0]!;
  stack.plugins[0]!.kill("SIGKILL");
  await stack.plugins[0]!.exited;
  // The process is gone, but nats-server may not have processed the closed socket yet (on a busy
  // machine it can take a while): until then it still delivers to the dead subscription.
  await waitFor(async () =>
    await noResponders(stack.router.nc, `${instanceSubjectBase("sy", "hello", instance)}.greet`) &&
    await noResponders(stack.router.nc, `${versionSubjectBase("sy", "hello", "1.2.0")}.greet`), { timeoutMs: 20_000, message: "nats-server to drop the killed instance" });
  // The router has not noticed (no stopped event): the request goes out and NATS answers no-responders.
  assert.equal(stack.router.registry.get("hello")!.versions.get("1.2.0")?.instances.has(instance), true, "the router still lists the instance");
  const res = await stack.post("hello/greet", { name: "World" });
  assert.equal(res.status, 503);
  assert.equal(res.body.error.code, "plugin_unavailable");
  assert.ok(res.ms < AT_ONCE_MS, `took ${res.ms.toFixed(1)} ms`);
  // A new instance is picked up without a restart of the router.
  stack.plugins.push(await startPlugin(pluginPath("hello"), stack.nats.url));
  await waitFor(async () => (await stack.post("hello/greet", { name: "again" })).status === 200, { timeoutMs: 20_000 });
});
