import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { connect } from "@nats-io/transport-node";
import type { NatsConnection } from "@nats-io/nats-core";
import { Svcm } from "@nats-io/services";
import { Validator } from "@seriousme/openapi-schema-validator";
import { jsonSchemaOf } from "../../src/host/schemas.ts";
import helloPlugin from "../../plugins/hello/mod.ts";
import { waitFor } from "../../src/testing/mod.ts";
import { fixturePath, pluginPath, startAll, startPlugin, startStack } from "./_stack.ts";
import type { Stack } from "./_stack.ts";
import { runLoad } from "./_load.ts";

describe("catalog, OpenAPI and health", () => {
  let stack: Stack;
  let nc: NatsConnection;

  before(async () => {
    stack = await startStack([pluginPath("hello")], { discovery: { intervalMs: 200 } });
    await startAll([
        startPlugin(fixturePath("tunable-health"), stack.nats.url, { instanceId: "h-1" }),
        startPlugin(fixturePath("tunable-health"), stack.nats.url, { instanceId: "h-2" }),
        startPlugin(fixturePath("needy"), stack.nats.url, { instanceId: "needy-1" }),
    ], stack.plugins);
    await stack.waitForInstances("tunable-health", 2);
    await stack.waitForInstances("needy", 1);
    nc = await connect({ servers: stack.nats.url });
  });
  after(async () => {
    await nc.close();
    await stack[Symbol.asyncDispose]();
  });

  test("GET /v1/plugins/<name> shows versions, instances with in-flight, ejection and health, and methods with JSON Schema", async () => {
    await waitFor(async () => (await plugin("tunable-health")).versions[0].instances.every((i: { health: string }) => i.health === "ok"));
    const body = await plugin("tunable-health");
    assert.equal(body.balancer, "least-pending");
    const [version] = body.versions;
    assert.equal(version.version, "1.0.0");
    assert.deepEqual(version.instances.map((i: { id: string }) => i.id).sort(), ["h-1", "h-2"]);
    for (const i of version.instances) {
      assert.equal(i.inFlight, 0);
      assert.equal(i.ejected, false);
      assert.equal(i.health, "ok");
      assert.equal(typeof i.latencyEwmaMs, "number");
    }
    const setHealth = version.methods.find((m: { name: string }) => m.name === "setHealth");
    assert.deepEqual(setHealth.input.properties.status.enum, ["ok", "degraded", "unhealthy"]);
  });

  test("an instance whose health() says unhealthy takes no traffic until it recovers", async () => {
    const set = (status: string) => nc.request("sy.$i.tunable-health.h-1.setHealth", JSON.stringify({ status }));
    await set("unhealthy");
    try {
      await waitFor(async () => (await instance("tunable-health", "h-1")).health === "unhealthy", { timeoutMs: 3_000 });
      const res = await runLoad(`${stack.url}/v1/tunable-health/work`, { total: 200, concurrency: 8 });
      assert.equal(res.errors, 0);
      assert.deepEqual([...res.instances.keys()], ["h-2"]);
    } finally {
      await set("ok");
    }
    await waitFor(async () => (await instance("tunable-health", "h-1")).health === "ok", { timeoutMs: 3_000 });
    const res = await runLoad(`${stack.url}/v1/tunable-health/work`, { total: 200, concurrency: 8 });
    assert.ok((res.instances.get("h-1") ?? 0) > 0, "h-1 serves again");
  });

  test("the catalog reports a manifest's unmet requirements", async () => {
    const [version] = (await plugin("needy")).versions;
    assert.deepEqual(version.requires, { hello: "^1", absent: "^2" });
    assert.deepEqual(version.unmetRequirements, [{ plugin: "absent", range: "^2" }]);
  });

  test("GET /openapi.json is a valid OpenAPI 3.1 document whose schemas are the plugins' valibot schemas", async () => {
    const doc = await (await fetch(`${stack.url}/openapi.json`)).json();
    const validator = new Validator();
    const result = await validator.validate(doc);
    assert.equal(result.valid, true, JSON.stringify(result.errors, null, 1)?.slice(0, 2000));
    assert.equal(validator.version, "3.1");
    const greet = doc.paths["/v1/hello/greet"].post;
    assert.equal(greet.operationId, "hello.greet");
    assert.deepEqual(doc.components.schemas["hello.greet.input"], jsonSchemaOf(helloPlugin.methods.greet!.input));
    assert.deepEqual(doc.components.schemas["hello.greet.output"], jsonSchemaOf(helloPlugin.methods.greet!.output));
    for (const path of ["/v1/tunable-health/work", "/v1/tunable-health/setHealth", "/v1/needy/work"]) assert.ok(doc.paths[path], path);
  });

  test("an independent NATS micro client (@nats-io/services) lists every instance with its version and endpoints", async () => {
    // @nats-io/services pins its own nats-core copy; the connection is the same at run time.
    const client = new Svcm(nc as never).client();
    const infos = [];
    for await (const info of await client.info()) infos.push(info);
    const ours = infos.filter((i) => ["hello", "tunable-health", "needy"].includes(i.name));
    assert.deepEqual(ours.map((i) => `${i.name}@${i.version}#${i.id}`).sort().filter((s) => !s.startsWith("hello")), [
      "needy@1.0.0#needy-1",
      "tunable-health@1.0.0#h-1",
      "tunable-health@1.0.0#h-2",
    ]);
    const hello = ours.find((i) => i.name === "hello")!;
    assert.equal(hello.version, "1.2.0");
    assert.deepEqual(hello.endpoints.map((e) => [e.name, e.subject, e.queue_group]), [["greet", "sy.hello.1_2_0.greet", "hello@1.2.0"]]);
    const h1 = ours.find((i) => i.id === "h-1")!;
    assert.deepEqual(h1.endpoints.map((e) => e.name).sort(), ["setHealth", "work"]);
    const pings = [];
    for await (const ping of await client.ping("tunable-health")) pings.push(ping.id);
    assert.deepEqual(pings.sort(), ["h-1", "h-2"]);
  });

  async function plugin(name: string): Promise<any> {
    const res = await fetch(`${stack.url}/v1/plugins/${name}`);
    assert.equal(res.status, 200);
    return res.json();
  }
  async function instance(name: string, id: string): Promise<any> {
    return (await plugin(name)).versions.flatMap((v: { instances: unknown[] }) => v.instances).find((i: { id: string }) => i.id === id);
  }
});
