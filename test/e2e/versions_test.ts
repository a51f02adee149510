import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { resolveConfig } from "../../src/config/mod.ts";
import type { Config } from "../../src/config/mod.ts";
import { startRouter } from "../../src/cli/router_command.ts";
import type { StartedRouter } from "../../src/cli/router_command.ts";
import { captureLogger, waitFor } from "../../src/testing/mod.ts";
import { fixturePath, startAll, startPlugin, startStack } from "./_stack.ts";
import type { Stack } from "./_stack.ts";
import { pct, runLoad } from "./_load.ts";

describe("version routing with v1.4.0 and v2.1.0 running", () => {
  let stack: Stack;
  const routers: StartedRouter[] = [];
  const extraRouter = async (config: Config): Promise<string> => {
    const router = await startRouter(
      resolveConfig({ ...config, nats: { servers: [stack.nats.url] }, router: { host: "127.0.0.1", port: 0 } }, {}),
      captureLogger(),
    );
    routers.push(router);
    await waitFor(() => router.registry.get("versioned")?.versions.size === 2, { message: "both versions discovered" });
    return `http://127.0.0.1:${router.port}`;
  };

  before(async () => {
    stack = await startStack([]);
    await startAll([
        startPlugin(fixturePath("versioned-v1"), stack.nats.url, { instanceId: "v1-a" }),
        startPlugin(fixturePath("versioned-v2"), stack.nats.url, { instanceId: "v2-a" }),
    ], stack.plugins);
    await stack.waitForInstances("versioned", 2);
  });
  after(async () => {
    await Promise.all(routers.map((r) => r.stop()));
    await stack[Symbol.asyncDispose]();
  });

  test("x-plugin-version picks by semver range; no header reaches the highest stable version", async () => {
    const cases: [Record<string, string>, string][] = [[{ "x-plugin-version": "^1" }, "1.4.0"], [{ "x-plugin-version": "^2" }, "2.1.0"], [{}, "2.1.0"]];
    for (const [headers, expected] of cases) {
      const res = await runLoad(`${stack.url}/v1/versioned/work`, { total: 100, concurrency: 4, headers });
      assert.equal(res.errors, 0);
      assert.deepEqual([...res.versions.keys()], [expected], JSON.stringify(headers));
    }
    const one = await stack.post("versioned/work", {}, { "x-plugin-version": "~1.4" });
    assert.equal(one.headers.get("x-plugin-version"), "1.4.0");
    assert.equal(one.body.version, "1.4.0");
  });

  test("a range nothing matches answers 503 no_matching_version at once", async () => {
    await stack.post("versioned/work", {}, { "x-plugin-version": "^2" });
    const res = await stack.post("versioned/work", {}, { "x-plugin-version": "^3" });
    assert.equal(res.status, 503);
    assert.equal(res.body.error.code, "no_matching_version");
    // Far below the 10 s timeout it would take to wait for an answer; room for a loaded machine.
    assert.ok(res.ms < 2_500, `answered in ${res.ms.toFixed(1)} ms`);
    const bad = await stack.post("versioned/work", {}, { "x-plugin-version": "not a range!" });
    assert.equal(bad.status, 400);
  });

  test("config rule plugins.<name>.version overrides the default; the header still wins", async () => {
    const url = await extraRouter({ plugins: { versioned: { version: "^1.2" } } });
    const res = await runLoad(`${url}/v1/versioned/work`, { total: 50, concurrency: 4 });
    assert.deepEqual([...res.versions.keys()], ["1.4.0"]);
    const header = await runLoad(`${url}/v1/versioned/work`, { total: 20, concurrency: 2, headers: { "x-plugin-version": "^2" } });
    assert.deepEqual([...header.versions.keys()], ["2.1.0"]);
  });

  test("a 90/10 canary sends 90 ± 5 % of 2000 requests to 1.4.0", async () => {
    const url = await extraRouter({ plugins: { versioned: { canary: { "1.4.0": 90, "2.1.0": 10 } } } });
    const res = await runLoad(`${url}/v1/versioned/work`, { total: 2000, concurrency: 16 });
    const v1 = pct(res.versions.get("1.4.0") ?? 0, 2000);
    console.log(`canary 90/10: 1.4.0 ${v1} %, 2.1.0 ${pct(res.versions.get("2.1.0") ?? 0, 2000)} %`);
    assert.equal(res.errors, 0);
    assert.ok(v1 >= 85 && v1 <= 95, `${v1} % to 1.4.0`);
  });

  test("the router sees draining and stopped within 1 s: no header falls back to 1.4.0", async () => {
    const v2 = stack.plugins.find((p) => p.name.includes("versioned-v2"))!;
    const t0 = Date.now();
    v2.kill("SIGTERM");
    await waitFor(() => stack.router.registry.pick("versioned", undefined)?.version === "1.4.0", { timeoutMs: 1_000, message: "v2 gone" });
    const seenMs = Date.now() - t0;
    await waitFor(() => stack.router.registry.get("versioned")?.versions.has("2.1.0") === false, { timeoutMs: 1_000, message: "2.1.0 forgotten" });
    console.log(`draining seen after ${seenMs} ms`);
    const res = await stack.post("versioned/work", {});
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("x-plugin-version"), "1.4.0");
    const gone = await stack.post("versioned/work", {}, { "x-plugin-version": "^2" });
    assert.equal(gone.status, 503);
    assert.equal(gone.body.error.code, "no_matching_version", "a version whose instances are all gone matches no more");
  });
});
