import { test } from "node:test";
import assert from "node:assert/strict";
import * as v from "valibot";
import { definePlugin, PluginError } from "../../src/plugin/mod.ts";
import { startPluginHarness } from "../../src/testing/mod.ts";
import type { StatsResponse } from "../../src/bus/mod.ts";

const plugin = definePlugin({
  name: "stats-probe",
  version: "1.0.0",
  methods: {
    slow: {
      input: v.object({ ms: v.number() }),
      output: v.object({}),
      // The work is all after the first await: a count of the synchronous part alone would see ~0 ms.
      handler: async (input) => {
        await new Promise((resolve) => setTimeout(resolve, input.ms));
        return {};
      },
    },
    broken: {
      input: v.object({ status: v.number() }),
      output: v.object({}),
      handler: async (input) => {
        await Promise.resolve();
        throw new PluginError("nope", "no", { status: input.status });
      },
    },
  },
});

test("$SRV.STATS counts requests, errors and processing time until async handlers settle", async () => {
  await using h = await startPluginHarness(plugin);
  await Promise.all(Array.from({ length: 4 }, () => h.call("slow", { ms: 60 })));
  await assert.rejects(h.call("broken", { status: 503 }), { code: "nope" });
  await assert.rejects(h.call("broken", { status: 400 }), { code: "nope" });
  const reply = await h.nc.request(`$SRV.STATS.stats-probe.${h.host.instanceId}`, undefined, { timeout: 2_000 });
  const stats = reply.json<StatsResponse>();
  const slow = stats.endpoints.find((e) => e.name === "slow")!;
  assert.equal(slow.num_requests, 4);
  assert.equal(slow.num_errors, 0);
  // Timers fire no earlier than asked, so each run took at least ~60 ms (1 ms of timer slack allowed).
  assert.ok(slow.average_processing_time >= 59e6, `average ${slow.average_processing_time} ns`);
  assert.ok(slow.processing_time >= 4 * 59e6, `total ${slow.processing_time} ns`);
  assert.ok(slow.average_processing_time < 5_000e6, "and not absurdly more");
  const broken = stats.endpoints.find((e) => e.name === "broken")!;
  assert.equal(broken.num_requests, 2);
  assert.equal(broken.num_errors, 1, "a 503 is the plugin's error; a 400 is the caller's");
  assert.equal(broken.last_error, "503:nope");
});

test("$SRV.STATS endpoint entries carry every field strict micro clients read, data included", async () => {
  await using h = await startPluginHarness(plugin);
  const reply = await h.nc.request(`$SRV.STATS.stats-probe.${h.host.instanceId}`, undefined, { timeout: 2_000 });
  const stats = reply.json<Record<string, unknown>>();
  // nats-py's ServiceStats.from_dict reads these with [] (a KeyError when one is missing).
  for (const key of ["id", "name", "version", "started", "endpoints", "metadata"]) assert.ok(key in stats, key);
  for (const endpoint of stats.endpoints as Record<string, unknown>[]) {
    for (const key of ["name", "subject", "queue_group", "num_requests", "num_errors", "last_error", "processing_time", "average_processing_time"]) {
      assert.ok(key in endpoint, `${String(endpoint.name)}.${key}`);
    }
    assert.deepEqual(endpoint.data, {}, `${String(endpoint.name)}.data`);
  }
});
