/**
 * Auth hot reload: a real router watching its config file, a real plugin process, a real HTTP
 * client. Removing an API key, a Basic user or a JWT key from the file makes it fail within a second,
 * with no restart, even when the credential was verified (and cached) just before.
 * @module
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SignJWT } from "jose";
import { generateApiKey, hashApiKey, hashPassword } from "../../src/auth/mod.ts";
import { loadConfig } from "../../src/config/mod.ts";
import type { Config } from "../../src/config/mod.ts";
import { startRouter } from "../../src/cli/router_command.ts";
import type { StartedRouter } from "../../src/cli/router_command.ts";
import { captureLogger, startNatsServer, waitFor } from "../../src/testing/mod.ts";
import type { CaptureLogger, NatsServer, ProcessHandle } from "../../src/testing/mod.ts";
import { CLI, fixturePath, startPlugin } from "./_stack.ts";
import { currentRuntime, runtimeCommand } from "../../src/runtime/mod.ts";
import { spawnProcess } from "../../src/testing/mod.ts";

const KEEP = generateApiKey();
const REMOVED = generateApiKey();
const ADDED = generateApiKey();
const SECRET_1 = "jwt-secret-one-0123456789abcdef0123456789";
const SECRET_2 = "jwt-secret-two-0123456789abcdef0123456789";
const METRICS_TOKEN = "metrics-token-0123456789abcdef0123456789";

describe("auth hot reload", () => {
  let nats: NatsServer;
  let plugin: ProcessHandle;
  let router: StartedRouter;
  let logs: CaptureLogger;
  let dir: string;
  let file: string;
  let base: Config;

  const call = async (headers: Record<string, string>) => {
    const res = await fetch(`http://127.0.0.1:${router.port}/v1/whoami/me`, {
      method: "POST",
      headers: { "content-type": "application/json", ...headers },
      body: "{}",
    });
    await res.arrayBuffer();
    return res.status;
  };
  const key = (k: string) => ({ "x-api-key": k });
  const basic = (user: string, pass: string) => ({
    authorization: `Basic ${Buffer.from(`${user}:${pass}`).toString("base64")}`,
  });
  const jwt = async (kid: string, secret: string) => ({
    authorization: `Bearer ${await new SignJWT({
      sub: `user-${kid}`,
      roles: ["caller"],
      exp: Math.floor(Date.now() / 1000) + 600,
    })
      .setProtectedHeader({ alg: "HS256", kid })
      .sign(new TextEncoder().encode(secret))}`,
  });
  /** Writes the file and returns when it was written. */
  const write = (config: Config) => {
    writeFileSync(file, JSON.stringify(config, null, 2));
    return performance.now();
  };
  /** Polls (every 10 ms) until `headers` get `status`, for at most `deadlineMs` after `since`; returns the time it took. */
  const until = async (
    headers: Record<string, string>,
    status: number,
    since: number,
    deadlineMs = 1_000,
  ) => {
    let last = 0;
    await waitFor(async () => (last = await call(headers)) === status, {
      timeoutMs: Math.max(0, since + deadlineMs - performance.now()),
      message: () => `${status} within ${deadlineMs} ms of the write (last: ${last})`,
    });
    return performance.now() - since;
  };

  before(async () => {
    nats = await startNatsServer();
    plugin = await startPlugin(fixturePath("whoami"), nats.url);
    dir = mkdtempSync(join(tmpdir(), "sy-auth-reload-"));
    file = join(dir, "switchyard.config.json");
    base = {
      router: { host: "127.0.0.1", port: 0 },
      nats: { servers: [nats.url] },
      auth: {
        apiKeys: {
          keys: [{ id: "keep", hash: hashApiKey(KEEP), roles: ["caller"] }, {
            id: "removed",
            hash: hashApiKey(REMOVED),
            roles: ["caller"],
          }],
        },
        basic: {
          users: [
            { username: "alice", hash: await hashPassword("alice-pw", 10), roles: ["caller"] },
            { username: "bob", hash: await hashPassword("bob-pw", 10), roles: ["caller"] },
          ],
        },
        jwt: {
          algorithms: ["HS256"],
          keys: [{ alg: "HS256", kid: "k1", secret: SECRET_1 }, {
            alg: "HS256",
            kid: "k2",
            secret: SECRET_2,
          }],
        },
        rules: [{ roles: ["caller"], plugins: ["whoami"] }],
      },
    };
    write(base);
    const config = loadConfig(file, {});
    logs = captureLogger();
    router = await startRouter(config, logs, {
      configPath: file,
      fileConfig: structuredClone(config),
      env: {},
    });
    await waitFor(() => router.registry.get("whoami") !== undefined, {
      timeoutMs: 10_000,
      message: "the router to discover whoami",
    });
  });
  after(async () => {
    await router?.stop();
    await plugin?.stop();
    await nats?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test("a removed API key, Basic user and JWT key get 401 within 1 s of the write; a new key works; no restart", async () => {
    // Each credential is verified (and cached) before the edit.
    const oldToken = await jwt("k1", SECRET_1);
    const keptToken = await jwt("k2", SECRET_2);
    for (
      const headers of [
        key(KEEP),
        key(REMOVED),
        basic("alice", "alice-pw"),
        basic("bob", "bob-pw"),
        oldToken,
        keptToken,
      ]
    ) {
      assert.equal(await call(headers), 200, JSON.stringify(headers));
    }
    assert.equal(await call(key(ADDED)), 401, "not configured yet");
    const scrape = async () => {
      const res = await fetch(`http://127.0.0.1:${router.port}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
      await res.arrayBuffer();
      return res.status;
    };
    assert.equal(await scrape(), 401, "no metrics token yet");
    const port = router.port;
    const auth = base.auth!;
    const writtenAt = write({
      ...base,
      metrics: { token: METRICS_TOKEN },
      auth: {
        ...auth,
        apiKeys: {
          keys: [{ id: "keep", hash: hashApiKey(KEEP), roles: ["caller"] }, {
            id: "added",
            hash: hashApiKey(ADDED),
            roles: ["caller"],
          }],
        },
        basic: { users: [auth.basic!.users[1]!] },
        jwt: { ...auth.jwt!, keys: [auth.jwt!.keys![1]!] },
      },
    });
    const ms = await until(key(REMOVED), 401, writtenAt);
    process.stdout.write(`# removed API key refused ${ms.toFixed(0)} ms after the config write\n`);
    assert.equal(
      await call(basic("alice", "alice-pw")),
      401,
      "the removed Basic user, though verified a moment ago",
    );
    assert.equal(await call(oldToken), 401, "a token of the removed JWT key, though verified a moment ago");
    assert.equal(await call(key(ADDED)), 200, "the new key");
    for (const headers of [key(KEEP), basic("bob", "bob-pw"), keptToken]) {
      assert.equal(await call(headers), 200, JSON.stringify(headers));
    }
    assert.equal(await scrape(), 200, "the new metrics token");
    assert.equal(router.port, port, "the same router, no restart");
    const audit = logs.entries.filter((e) => e.msg === "config reloaded").at(-1)!;
    assert.equal(audit.level, "info");
    assert.deepEqual(audit.attrs.applied, ["auth.apiKeys.keys", "auth.basic.users", "auth.jwt.keys", "metrics.token"]);
    assert.equal(audit.attrs.needsRestart, undefined);
  });

  test("what cannot apply without a restart is logged at warn as needsRestart; removing the auth section opens nothing", async () => {
    const before = logs.entries.filter((e) => e.msg === "config reloaded").length;
    const { auth: _auth, ...withoutAuth } = base;
    write({ ...withoutAuth, metrics: { token: METRICS_TOKEN }, router: { ...base.router, headerTimeoutMs: 5_000 } });
    await waitFor(() => logs.entries.filter((e) => e.msg === "config reloaded").length > before, {
      timeoutMs: 5_000,
      message: "the reload",
    });
    const audit = logs.entries.filter((e) => e.msg === "config reloaded").at(-1)!;
    assert.equal(audit.level, "warn");
    assert.deepEqual(audit.attrs.needsRestart, ["auth", "router.headerTimeoutMs"]);
    assert.deepEqual(audit.attrs.applied, []);
    assert.equal(await call({}), 401, "the running router keeps the auth it started with");
    assert.equal(await call(key(KEEP)), 200);
  });

  test("router --help says what applies live and what needs a restart", async () => {
    await using help = spawnProcess(runtimeCommand(currentRuntime(), CLI, ["router", "--help"]), {
      name: "help",
    });
    await help.exited;
    const text = help.lines.join("\n");
    assert.match(text, /Applied at once: auth \(API keys, JWT keys, Basic users, rules/);
    assert.match(text, /needsRestart/);
    assert.match(text, /router\.host, \.port, \.tls/);
  });
});
