/**
 * The discovery benchmark's simulated instances (bench/discovery/sim_instances.ts) must look to a
 * router exactly like real ones, or the benchmark measures something else: same documents on the
 * same subjects, same catalog entries, requests routed and answered, gone when stopped.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { connect } from "@nats-io/transport-node";
import type { NatsConnection } from "@nats-io/nats-core";
import { collectMicro } from "../../src/bus/mod.ts";
import { resolveConfig } from "../../src/config/mod.ts";
import { startRouter } from "../../src/cli/router_command.ts";
import type { StartedRouter } from "../../src/cli/router_command.ts";
import { currentRuntime, runtimeCommand } from "../../src/runtime/mod.ts";
import { captureLogger, spawnProcess, startNatsServer, waitFor } from "../../src/testing/mod.ts";
import type { NatsServer, ProcessHandle } from "../../src/testing/mod.ts";
import { startPlugin } from "./_stack.ts";

const SIM = fileURLToPath(new URL("../../bench/discovery/sim_instances.ts", import.meta.url));
const REAL = fileURLToPath(new URL("../../bench/discovery/sim_00.ts", import.meta.url));
const REAL_ID = "real-1";
const decoder = new TextDecoder();

describe("simulated instances for the discovery benchmark", () => {
  let nats: NatsServer;
  let router: StartedRouter;
  let url: string;
  let nc: NatsConnection;
  let sim: ProcessHandle;
  let real: ProcessHandle;
  /** Simulated instance ids per plugin, as the router lists them. */
  let simIds: Map<string, string[]>;
  const logs = captureLogger();

  const instancesOf = (plugin: string) =>
    [...router.registry.get(plugin)?.versions.values() ?? []].flatMap((v) => [...v.instances.values()]);
  const catalog = async (plugin: string) => {
    const res = await fetch(`${url}/v1/plugins/${plugin}`);
    assert.equal(res.status, 200);
    return await res.json() as {
      versions: { version: string; methods: unknown[]; instances: { id: string; health: string }[] }[];
    };
  };
  const ask = async (subject: string) =>
    JSON.parse(decoder.decode((await nc.request(subject, undefined, { timeout: 5_000 })).data)) as Record<
      string,
      unknown
    >;
  /** A document with the fields that name one instance (or its start time) blanked out. */
  const anonymous = (doc: Record<string, unknown>) =>
    JSON.parse(
      JSON.stringify(doc).replaceAll(String(doc.id), "<id>").replace(/"started":"[^"]+"/, '"started":"<t>"'),
    ) as unknown;

  before(async () => {
    nats = await startNatsServer();
    router = await startRouter(
      resolveConfig({
        nats: { servers: [nats.url] },
        router: { host: "127.0.0.1", port: 0 },
        discovery: { intervalMs: 200 },
      }, {}),
      logs,
    );
    url = `http://127.0.0.1:${router.port}`;
    nc = await connect({ servers: nats.url });
    real = await startPlugin(REAL, nats.url, { instanceId: REAL_ID });
    sim = spawnProcess(
      runtimeCommand(currentRuntime(), SIM, ["--nats", nats.url, "--instances", "6", "--plugins", "2"]),
      { name: "sim" },
    );
    await sim.waitForLine("sim ready", 30_000);
    // 3 simulated instances of each plugin, and the real one of sim-00
    await waitFor(() => instancesOf("sim-00").length === 4 && instancesOf("sim-01").length === 3, {
      timeoutMs: 20_000,
      message: "7 instances",
    });
    simIds = new Map(
      ["sim-00", "sim-01"].map((p) => [p, instancesOf(p).map((i) => i.id).filter((id) => id !== REAL_ID)]),
    );
  });
  after(async () => {
    await sim?.stop();
    await real?.stop();
    await nc?.close();
    await router?.stop();
    await nats?.stop();
  });

  test("their INFO, PING and STATS match a real instance's, field for field", async () => {
    const simId = simIds.get("sim-00")![0]!;
    for (const verb of ["INFO", "PING", "STATS"]) {
      const realDoc = await ask(`$SRV.${verb}.sim-00.${REAL_ID}`);
      const simDoc = await ask(`$SRV.${verb}.sim-00.${simId}`);
      assert.equal(simDoc.id, simId);
      assert.deepEqual(anonymous(simDoc), anonymous(realDoc), `${verb} differs`);
    }
    // a broadcast gets one reply per instance, simulated or real
    const pings = await collectMicro(nc, "PING", { name: "sim-00" }, { stallMs: 300, maxWaitMs: 3_000 });
    assert.deepEqual(pings.map((p) => p.id).sort(), [REAL_ID, ...simIds.get("sim-00")!].sort());
  });

  test("the router lists them exactly like a real instance", async () => {
    await waitFor(
      async () => (await catalog("sim-00")).versions[0]!.instances.every((i) => i.health === "ok"),
      { timeoutMs: 10_000, message: "health ok" },
    );
    const [version] = (await catalog("sim-00")).versions;
    assert.equal(version!.version, "1.0.0");
    assert.deepEqual(version!.methods.map((m) => (m as { name: string }).name), ["greet", "add"]);
    const { id: _realId, ...realEntry } = version!.instances.find((i) => i.id === REAL_ID)!;
    const simulated = version!.instances.filter((i) => i.id !== REAL_ID);
    assert.equal(simulated.length, 3);
    for (const { id: _id, ...entry } of simulated) assert.deepEqual(entry, realEntry);
  });

  test("POST /v1/<plugin>/<method> is routed to them and answered as the plugin would", async () => {
    const post = (path: string, body: unknown) =>
      fetch(`${url}/v1/${path}`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
      });
    const greet = await post("sim-01/greet", { name: "World" });
    assert.equal(greet.status, 200);
    assert.deepEqual(await greet.json(), { message: "Hello, World" });
    const instance = greet.headers.get("x-plugin-instance")!;
    assert.ok(simIds.get("sim-01")!.includes(instance), `answered by ${instance}`);
    assert.equal(greet.headers.get("x-plugin-version"), "1.0.0");
    const add = await post("sim-01/add", { a: 2, b: 3 });
    assert.deepEqual(await add.json(), { sum: 5 });
    const bad = await post("sim-01/add", { a: "two" });
    assert.equal(bad.status, 422);
    // the answer was counted where a real host counts it: that instance's STATS
    const stats = await ask(`$SRV.STATS.sim-01.${instance}`) as {
      endpoints: { name: string; num_requests: number }[];
    };
    assert.ok(stats.endpoints.find((e) => e.name === "greet")!.num_requests >= 1);
    // and the version's queue group serves too, as for a real instance
    const queued = await nc.request("sy.sim-01.1_0_0.greet", JSON.stringify({ name: "queue" }), {
      timeout: 5_000,
    });
    assert.deepEqual(JSON.parse(decoder.decode(queued.data)), { message: "Hello, queue" });
    assert.ok(simIds.get("sim-01")!.includes(queued.headers?.get("sy-instance") ?? ""));
  });

  test("stopping the simulator announces each instance stopped, and the router removes them", async () => {
    await sim.stop();
    await waitFor(() => instancesOf("sim-01").length === 0 && instancesOf("sim-00").length === 1, {
      timeoutMs: 10_000,
      message: "only the real instance left",
    });
    assert.equal(instancesOf("sim-00")[0]!.id, REAL_ID);
    // removed on their `stopped` events ("instance left"), not only after missed polls
    const left = logs.entries.filter((e) => e.msg === "instance left").map((e) => e.attrs.instance);
    assert.deepEqual(left.sort(), [...simIds.get("sim-00")!, ...simIds.get("sim-01")!].sort());
  });
});
