import { test } from "node:test";
import assert from "node:assert/strict";
import { ConfigError, resolveConfig } from "../../src/config/mod.ts";
import { routerSecurity } from "../../src/cli/router_security.ts";
import { natsCredentialsFromEnv } from "../../src/bus/mod.ts";
import { captureLogger, FakeClock } from "../../src/testing/mod.ts";
import { hostPort, parsePermissions } from "../../src/supervisor/mod.ts";

const problems = (raw: unknown): string => {
  try {
    resolveConfig(raw, {});
  } catch (err) {
    assert.ok(err instanceof ConfigError);
    return err.problems.join("\n");
  }
  assert.fail("expected a ConfigError");
};

test("resolveConfig() fills the limit defaults and checks the auth and allowList sections by dotted path", () => {
  const c = resolveConfig({}, {});
  assert.deepEqual(
    [c.router.headerTimeoutMs, c.router.idleTimeoutMs, c.router.requestTimeoutMs, c.router.maxConnections, c.auth, c.allowList],
    [10_000, 30_000, 30_000, undefined, undefined, undefined],
  );
  const text = problems({
    auth: {
      apiKeys: { keys: [{ id: "ci", hash: "plain-text-key" }] },
      jwt: { algorithms: ["none"], keys: [{ alg: "HS256", secret: "short" }] },
      rules: [{ plugins: ["x"] }],
    },
    allowList: { plugins: { hello: "md5:abc" } },
  });
  assert.match(text, /^auth\.apiKeys\.keys\.0\.hash: must be "sha256:"/m);
  assert.match(text, /^auth\.jwt\.algorithms\.0: /m);
  assert.match(text, /^auth\.jwt\.keys\.0\.secret: an HS256 secret needs at least 32 characters/m);
  assert.match(text, /^auth\.rules\.0: say whom it grants/m);
  assert.match(text, /^allowList\.plugins\.hello: /m);
  assert.match(problems({ auth: { jwt: { algorithms: ["RS256"], keys: [{ alg: "RS256", secret: "x".repeat(40) }] } } }), /HS256 keys take a secret/);
});

test("routerSecurity() refuses mTLS without a client CA and names unreadable files", async () => {
  const deps = { clock: new FakeClock(), logger: captureLogger() };
  await assert.rejects(routerSecurity(resolveConfig({ auth: { mtls: {} } }, {}), {}, deps), /auth\.mtls: needs router\.tls with a clientCaFile/);
  await assert.rejects(routerSecurity(resolveConfig({ router: { tls: { certFile: "/nope.crt", keyFile: "/nope.key" } } }, {}), {}, deps), /router\.tls\.certFile: cannot read \/nope\.crt/);
  const logger = captureLogger();
  const open = await routerSecurity(resolveConfig({}, {}), {}, { clock: new FakeClock(), logger });
  assert.equal(open.auth, undefined);
  assert.ok(logger.entries.some((e) => e.level === "warn" && /auth is off/.test(e.msg)), "a router without auth says so");
});

test("natsCredentialsFromEnv() reads the nats CLI's variable names over the config's", () => {
  const creds = natsCredentialsFromEnv(
    { NATS_USER: "u", NATS_PASSWORD: "p", NATS_CREDS: "/c.creds", NATS_CA: "/ca.pem", NATS_INBOX_PREFIX: "_INBOX_x", NATS_TOKEN: "" },
    { user: "config-user", token: "t", tls: { certFile: "/cert.pem" } },
  );
  assert.deepEqual(creds, { user: "u", pass: "p", token: "t", credsFile: "/c.creds", inboxPrefix: "_INBOX_x", tls: { certFile: "/cert.pem", caFile: "/ca.pem" } });
});

test("parsePermissions() and hostPort() read manifests and NATS URLs", () => {
  assert.deepEqual(parsePermissions(undefined, "x"), {});
  assert.equal(parsePermissions("all", "x"), "all");
  assert.throws(() => parsePermissions({ ffi: true }, "p/plugin.json"), /p\/plugin\.json: "permissions"/);
  assert.throws(() => parsePermissions({ net: ["a,b"] }, "p/plugin.json"), /must not contain ','/);
  assert.deepEqual(["nats://h:1", "tls://h", "ws://h", "wss://h", "h:7"].map(hostPort), ["h:1", "h:4222", "h:80", "h:443", "h:7"]);
});
