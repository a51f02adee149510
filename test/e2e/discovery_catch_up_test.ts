/**
 * `announce` discovery: an instance the first look's `$SRV.PING` names, but whose own plugin subject
 * does not answer in time, is asked again within seconds (catch-up looks), not at the fifth roll call.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { connectBus, RequestMux } from "../../src/bus/mod.ts";
import { systemClock } from "../../src/deps.ts";
import { Registry, startDiscovery } from "../../src/registry/mod.ts";
import { captureLogger, startNatsServer } from "../../src/testing/mod.ts";
import { startRawPlugin } from "./_raw_plugin.ts";

test("announce: an instance not proven in time at the first look is found by a catch-up look", async () => {
  await using nats = await startNatsServer();
  // leaves the first look's and the first catch-up's `$SRV.PING.slow` unanswered
  await using slow = await startRawPlugin(nats.url, { name: "slow", ignoreNamePings: 2 });
  await using prompt = await startRawPlugin(nats.url, { name: "prompt" });
  const nc = await connectBus({ servers: [nats.url] });
  const registry = new Registry("sy");
  const mux = new RequestMux(nc);
  // roll calls 10 minutes apart: only a catch-up look can find it within the test
  const discovery = startDiscovery(nc, registry, { prefix: "sy", mux, mode: "announce", rollCallMs: 600_000 }, {
    clock: systemClock,
    logger: captureLogger(),
  });
  try {
    await discovery.refresh();
    assert.ok(registry.instance("prompt", prompt.id) !== undefined, "the prompt instance joins at the first look");
    assert.equal(registry.instance("slow", slow.id), undefined, "its own subject did not answer the first look");
    const deadline = Date.now() + 30_000;
    while (registry.instance("slow", slow.id) === undefined && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    assert.ok(registry.instance("slow", slow.id) !== undefined, "found by the second catch-up look (1 s, then 2 s later)");
  } finally {
    discovery.stop();
    mux.close();
    await nc.close();
  }
});
