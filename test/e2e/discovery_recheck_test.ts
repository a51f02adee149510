/**
 * An instance that was missing for a moment comes back within seconds, not at the next roll call:
 * - one removed because a request found nobody on its own subject (it rejoined through another
 *   server, and its subscription had not reached the router's yet) is asked for again;
 * - one whose own subject did not answer the proof a `started` event asked for is admitted when a
 *   catch-up look finds it answering for its plugin.
 * Roll calls are 10 minutes apart in these tests, so only the recheck can bring an instance back.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import type { NatsConnection } from "@nats-io/nats-core";
import { connectBus, eventsSubject, RequestMux } from "../../src/bus/mod.ts";
import { pipelineSettings, resolveConfig } from "../../src/config/mod.ts";
import { systemClock } from "../../src/deps.ts";
import { RequestPipeline } from "../../src/pipeline/mod.ts";
import { Registry, startDiscovery } from "../../src/registry/mod.ts";
import type { Discovery } from "../../src/registry/mod.ts";
import { captureLogger, startNatsServer, waitFor } from "../../src/testing/mod.ts";
import { startRawPlugin } from "./_raw_plugin.ts";

interface Router extends AsyncDisposable {
  nc: NatsConnection;
  registry: Registry;
  pipeline: RequestPipeline;
  discovery: Discovery;
}

/** A router's registry, pipeline and discovery, wired as `switchyard router` wires them. */
async function router(natsUrl: string): Promise<Router> {
  const nc = await connectBus({ servers: [natsUrl] });
  const registry = new Registry("sy");
  const mux = new RequestMux(nc);
  const deps = { clock: systemClock, logger: captureLogger() };
  const settings = pipelineSettings(resolveConfig({}, {}));
  const pipeline: RequestPipeline = new RequestPipeline({ registry, mux, settings, onRemoved: (i) => discovery.recheck(i.plugin, i.id), ...deps });
  const discovery = startDiscovery(nc, registry, { prefix: "sy", mux, mode: "announce", rollCallMs: 600_000 }, deps);
  await discovery.refresh();
  return {
    nc,
    registry,
    pipeline,
    discovery,
    async [Symbol.asyncDispose]() {
      discovery.stop();
      pipeline.close();
      mux.close();
      await nc.close();
    },
  };
}

test("an instance removed on a failed use is asked for again: a live one is back within seconds, a dead one is not", async () => {
  await using nats = await startNatsServer();
  await using live = await startRawPlugin(nats.url, { name: "rejoin" });
  const dead = await startRawPlugin(nats.url, { name: "rejoin" });
  await using r = await router(nats.url);
  assert.ok(r.registry.instance("rejoin", live.id) !== undefined && r.registry.instance("rejoin", dead.id) !== undefined);
  await dead.nc.close(); // gone without a word, like a killed process
  for (const id of [live.id, dead.id]) r.pipeline.instanceDead(r.registry.instance("rejoin", id)!, "no responders on its own subject");
  assert.equal(r.registry.instance("rejoin", live.id), undefined, "removed");
  await waitFor(() => r.registry.instance("rejoin", live.id) !== undefined, { timeoutMs: 15_000, message: "the live instance is back" });
  assert.equal(r.registry.instance("rejoin", dead.id), undefined, "the dead one stays out");
});

test("an instance whose own subject did not answer the proof its started event asked for is admitted when a look finds it", async () => {
  await using nats = await startNatsServer();
  await using r = await router(nats.url);
  const id = `late${Math.random().toString(36).slice(2, 8)}`;
  // its started event comes before anyone listens on its subjects
  r.nc.publish(eventsSubject("sy", "late"), JSON.stringify({ type: "started", info: { name: "late", id, version: "1.0.0" } }));
  await waitFor(() => r.registry.arrivals("late") === undefined, { message: "the proof was asked and went unanswered" });
  assert.equal(r.registry.instance("late", id), undefined);
  await using _late = await startRawPlugin(nats.url, { name: "late", id });
  await waitFor(() => r.registry.instance("late", id) !== undefined, { timeoutMs: 15_000, message: "admitted by a catch-up look, not refused for the unanswered proof" });
});
