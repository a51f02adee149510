/**
 * Who may see the dashboard (an admin role with auth on; nobody with `router.dashboard: false`), and
 * its reload action against a real supervisor (`switchyard up`).
 * @module
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { generateApiKey, hashApiKey } from "../../src/auth/mod.ts";
import { resolveConfig } from "../../src/config/mod.ts";
import type { Config } from "../../src/config/mod.ts";
import { startRouter } from "../../src/cli/router_command.ts";
import type { StartedRouter } from "../../src/cli/router_command.ts";
import { currentRuntime, runtimeCommand } from "../../src/runtime/mod.ts";
import { captureLogger, spawnProcess, startNatsServer, waitFor } from "../../src/testing/mod.ts";
import type { NatsServer, ProcessHandle } from "../../src/testing/mod.ts";
import { CLI, pluginPath } from "./_stack.ts";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const CALLER = generateApiKey();
const ADMIN = generateApiKey();

describe("dashboard access", () => {
  let nats: NatsServer;
  const routers: StartedRouter[] = [];
  const start = async (config: Config) => {
    const router = await startRouter(
      resolveConfig({
        ...config,
        nats: { servers: [nats.url] },
        router: { host: "127.0.0.1", port: 0, ...config.router },
      }, {}),
      captureLogger(),
      { env: {} },
    );
    routers.push(router);
    return `http://127.0.0.1:${router.port}`;
  };
  before(async () => {
    nats = await startNatsServer();
  });
  after(async () => {
    for (const r of routers) await r.stop();
    await nats?.stop();
  });

  test("with auth on, every dashboard route needs an admin role: 401 without credentials, 403 for a caller", async () => {
    const url = await start({
      router: { traces: { enabled: true } },
      admin: { enabled: true },
      auth: {
        apiKeys: {
          keys: [{ id: "ci", hash: hashApiKey(CALLER), roles: ["caller"] }, {
            id: "ops",
            hash: hashApiKey(ADMIN),
            roles: ["admin"],
          }],
        },
        rules: [{ roles: ["caller"], plugins: ["hello"] }, { roles: ["admin"], plugins: ["*"] }],
      },
    });
    const paths = [
      "/dashboard",
      "/dashboard/app.js",
      "/dashboard/app.css",
      "/dashboard/events",
      "/dashboard/api/snapshot",
      "/dashboard/api/traces",
      "/dashboard/api/traces/some-request",
    ];
    for (const path of paths) {
      const anonymous = await fetch(`${url}${path}`);
      assert.equal(anonymous.status, 401, path);
      assert.equal((await anonymous.json() as { error: { code: string } }).error.code, "unauthorized");
      const caller = await fetch(`${url}${path}`, { headers: { "x-api-key": CALLER } });
      assert.equal(caller.status, 403, path);
      assert.equal((await caller.json() as { error: { code: string } }).error.code, "forbidden");
    }
    const action = (headers: Record<string, string>) =>
      fetch(`${url}/dashboard/actions/hello/drain`, {
        method: "POST",
        headers: { "content-type": "application/json", ...headers },
        body: "{}",
      });
    assert.equal((await action({})).status, 401);
    assert.equal((await action({ "x-api-key": CALLER })).status, 403);
    const page = await fetch(`${url}/dashboard`, { headers: { "x-api-key": ADMIN } });
    assert.equal(page.status, 200);
    assert.match(await page.text(), /<title>Switchyard<\/title>/);
    const events = await fetch(`${url}/dashboard/events`, { headers: { "x-api-key": ADMIN } });
    assert.equal(events.status, 200);
    await events.body!.cancel();
    const snapshot = await (await fetch(`${url}/dashboard/api/snapshot`, { headers: { "x-api-key": ADMIN } }))
      .json() as { router: { actions: unknown } };
    assert.deepEqual(
      snapshot.router.actions,
      { drain: true, reload: true, token: false },
      "with auth, the admin role is enough: no admin.token asked",
    );
    const otlp = (headers: Record<string, string>) =>
      fetch(`${url}/v1/traces`, {
        method: "POST",
        headers: { "content-type": "application/json", ...headers },
        body: "{}",
      });
    assert.equal((await otlp({})).status, 401, "an export needs credentials too");
    assert.equal((await otlp({ "x-api-key": CALLER })).status, 200);
  });

  test("router.dashboard: false turns every dashboard route off (404); without traces, trace routes say so", async () => {
    const off = await start({ router: { dashboard: false } });
    for (const path of ["/dashboard", "/dashboard/events", "/dashboard/api/snapshot"]) {
      assert.equal((await fetch(`${off}${path}`)).status, 404, path);
    }
    const plain = await start({});
    assert.equal((await fetch(`${plain}/dashboard`)).status, 200, "on by default");
    const traces = await fetch(`${plain}/dashboard/api/traces/x`);
    assert.equal(traces.status, 404);
    assert.match(
      (await traces.json() as { error: { message: string } }).error.message,
      /router\.traces\.enabled/,
    );
    assert.equal(
      (await fetch(`${plain}/v1/traces`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: "{}",
      })).status,
      404,
      "no receiver without a ring",
    );
    const snapshot = await (await fetch(`${plain}/dashboard/api/snapshot`)).json() as {
      router: { traces: unknown; actions: unknown };
    };
    assert.equal(snapshot.router.traces, null);
    assert.deepEqual(
      snapshot.router.actions,
      { drain: false, reload: false, token: false },
      "admin.enabled is off: no actions",
    );
    assert.equal(
      (await fetch(`${plain}/dashboard/actions/hello/drain`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: "{}",
      })).status,
      404,
    );
  });

  test("without auth, admin.token guards the actions (the page asks for it), not the views", async () => {
    const url = await start({ admin: { enabled: true, token: "a-long-admin-token-of-some-length" } });
    const snapshot = await (await fetch(`${url}/dashboard/api/snapshot`)).json() as {
      router: { actions: unknown };
    };
    assert.deepEqual(snapshot.router.actions, { drain: true, reload: true, token: true });
    const act = (headers: Record<string, string>) =>
      fetch(`${url}/dashboard/actions/hello/resume`, {
        method: "POST",
        headers: { "content-type": "application/json", ...headers },
        body: "{}",
      });
    assert.equal((await act({})).status, 401);
    assert.equal((await act({ authorization: "Bearer wrong-token-of-the-same-size!!" })).status, 401);
    assert.equal(
      (await act({ authorization: "Bearer a-long-admin-token-of-some-length" })).status,
      404,
      "past the token: no plugin hello here",
    );
  });
});

describe("the dashboard's reload action against switchyard up", () => {
  let nats: NatsServer;
  let router: StartedRouter;
  let up: ProcessHandle;
  let dir: string;
  let url: string;
  const ids = () =>
    [...router.registry.get("hello")?.versions.values() ?? []].flatMap((v) => [...v.instances.values()])
      .filter((i) => !i.draining).map((i) => i.id);

  before(async () => {
    nats = await startNatsServer();
    dir = mkdtempSync(join(ROOT, ".cache-dashboard-"));
    const configPath = join(dir, "switchyard.config.json");
    writeFileSync(configPath, JSON.stringify({ plugins: { hello: { module: pluginPath("hello") } } }));
    router = await startRouter(
      resolveConfig({
        nats: { servers: [nats.url] },
        router: { host: "127.0.0.1", port: 0 },
        admin: { enabled: true },
      }, {}),
      captureLogger(),
      { env: {} },
    );
    url = `http://127.0.0.1:${router.port}`;
    up = spawnProcess(
      runtimeCommand(currentRuntime(), CLI, [
        "up",
        "--config",
        configPath,
        "--nats",
        nats.url,
        "--log-format",
        "pretty",
      ]),
      { name: "up" },
    );
    await up.waitForLine("supervisor up", 60_000);
    await waitFor(() => ids().length === 1, { timeoutMs: 10_000, message: "hello routed" });
  });
  after(async () => {
    await up?.stop(20_000);
    await router?.stop();
    await nats?.stop();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  test("reload from the dashboard replaces the instance blue-green and says so", async () => {
    const before = ids();
    const res = await fetch(`${url}/dashboard/actions/hello/reload`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{}",
    });
    assert.equal(res.status, 200);
    const body = await res.json() as { ok: boolean; message: string };
    assert.equal(body.ok, true, body.message);
    assert.match(body.message, /^\S+: reloaded \(version 1\.\d+\.\d+\), new instances \S+ ready in \d+ ms$/);
    await waitFor(() => ids().length === 1 && ids()[0] !== before[0], {
      timeoutMs: 10_000,
      message: "the new instance routed, the old one gone",
    });
  });
});
