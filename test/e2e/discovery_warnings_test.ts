/**
 * What discovery ignores or degrades, it says once per instance at warn, with the reason: raw
 * instances (test/e2e/_raw_plugin.ts) each break one rule, and a real discovery polls them.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { connectBus, RequestMux } from "../../src/bus/mod.ts";
import { systemClock } from "../../src/deps.ts";
import { Registry, startDiscovery } from "../../src/registry/mod.ts";
import { captureLogger, startNatsServer } from "../../src/testing/mod.ts";
import type { LogEntry } from "../../src/testing/mod.ts";
import { startRawPlugin } from "./_raw_plugin.ts";

test("discovery warns once per instance, with the reason, about what it ignores or degrades", async () => {
  await using nats = await startNatsServer();
  await using degraded = await startRawPlugin(nats.url, { name: "degraded", endpointMetadata: { "sy.input_schema": "{not json" }, metadata: { "sy.weight": "heavy" } });
  await using hinted = await startRawPlugin(nats.url, { name: "hinted", misnamedPing: { name: "Bad_Name", id: "x1" } });
  await using _loose = await startRawPlugin(nats.url, { name: "loose", version: "1.0" });
  await using _future = await startRawPlugin(nats.url, { name: "future", metadata: { "sy.protocol": "2" } });
  await using unwell = await startRawPlugin(nats.url, { name: "unwell", omitHealth: true });
  const nc = await connectBus({ servers: [nats.url] });
  const logger = captureLogger();
  const registry = new Registry("sy");
  const mux = new RequestMux(nc);
  // A long interval: the test drives the polls.
  const discovery = startDiscovery(nc, registry, { prefix: "sy", mux, intervalMs: 60_000 }, { clock: systemClock, logger });
  try {
    // A malformed event (a publisher on the events subject with a bad instance id), twice.
    for (let i = 0; i < 2; i++) nc.publish("sy.$events.degraded", JSON.stringify({ type: "started", info: { name: "degraded", id: "bad id!" } }));
    for (let poll = 0; poll < 3; poll++) await discovery.refresh();
    const warns = logger.entries.filter((e) => e.level === "warn");
    const about = (msg: string, match: (e: LogEntry) => boolean) => warns.filter((e) => e.msg === msg && match(e));

    // Joined, but the router skips edge validation and the weight: said once, with both reasons.
    const entry = registry.instance("degraded", degraded.id);
    assert.ok(entry !== undefined, "the degraded instance is admitted");
    assert.equal(entry.weight, 1);
    const lines = about("instance joined, but the router ignores part of its INFO", (e) => e.attrs.instance === degraded.id);
    assert.equal(lines.length, 1, JSON.stringify(warns));
    assert.deepEqual(lines[0]!.attrs.reasons, [
      'sy.weight "heavy" is not a positive number: the weight is 1',
      "greet: sy.input_schema is not JSON: the router does not check inputs",
    ]);

    // A PING hint with a malformed name, from something that says it speaks the protocol.
    assert.equal(about("ignored an instance with a malformed plugin name or instance id", (e) => e.attrs.plugin === "Bad_Name").length, 1, JSON.stringify(warns));
    assert.ok(registry.instance("hinted", hinted.id) !== undefined, "the well-formed instance next to it is admitted");
    // A version that is not semver, and a protocol this router does not know: refused, said once.
    const refused = (plugin: string) => about("instance refused", (e) => e.attrs.plugin === plugin).map((e) => e.attrs.reason);
    assert.deepEqual(refused("loose"), ["version is not semver"]);
    assert.deepEqual(refused("future"), ['unknown protocol version "2"']);
    assert.equal(registry.get("loose"), undefined);
    assert.equal(registry.get("future"), undefined);
    assert.equal(about("ignored an event with a malformed plugin name or instance id", () => true).length, 1, JSON.stringify(warns));
    // STATS without health: admitted and polled, its health unknown, said once over three polls.
    assert.equal(registry.instance("unwell", unwell.id)?.health, "unknown");
    assert.deepEqual(about("instance's STATS carries no health status: its health stays as it was", () => true).map((e) => e.attrs.instance), [unwell.id]);
    // Nothing said about the conforming instances.
    assert.deepEqual(warns.filter((e) => e.attrs.instance === hinted.id), []);
  } finally {
    discovery.stop();
    mux.close();
    await nc.close();
  }
});
