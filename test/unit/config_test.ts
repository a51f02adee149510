import { test } from "node:test";
import assert from "node:assert/strict";
import { ConfigError, DEFAULT_BODY_LIMIT_BYTES, DEFAULT_PORT, DEFAULT_TIMEOUT_MS, resolveConfig } from "../../src/config/mod.ts";

test("resolveConfig() fills defaults", () => {
  const c = resolveConfig({}, {});
  assert.equal(c.router.port, DEFAULT_PORT);
  assert.equal(c.router.timeoutMs, DEFAULT_TIMEOUT_MS);
  assert.ok(c.router.bodyLimitBytes === DEFAULT_BODY_LIMIT_BYTES && DEFAULT_BODY_LIMIT_BYTES < 1024 * 1024);
  assert.equal(c.prefix, "sy");
});

test("resolveConfig() applies NATS_URL and PORT over the file", () => {
  const c = resolveConfig({ nats: { servers: ["nats://a:1"] }, router: { port: 1 } }, { NATS_URL: "nats://b:2, nats://c:3", PORT: "9090" });
  assert.deepEqual(c.nats.servers, ["nats://b:2", "nats://c:3"]);
  assert.equal(c.router.port, 9090);
  assert.throws(() => resolveConfig({}, { PORT: "http" }), ConfigError);
});

test("resolveConfig() names every problem by dotted path", () => {
  try {
    resolveConfig({ router: { port: 70000 }, plugins: { "Bad.Name": {}, ok: { timeoutMs: 0 } }, extra: true }, {});
    assert.fail("expected a ConfigError");
  } catch (err) {
    assert.ok(err instanceof ConfigError);
    const text = err.problems.join("\n");
    assert.match(text, /^router\.port: /m);
    assert.match(text, /^plugins\.ok\.timeoutMs: /m);
    assert.match(text, /^extra: unknown key$/m);
    assert.match(text, /Bad\.Name/);
  }
});

test("resolveConfig() takes LOG_LEVEL over log.level, refuses a bad one, and defaults metrics on", () => {
  assert.equal(resolveConfig({ log: { level: "warn" } }, { LOG_LEVEL: "DEBUG" }).log.level, "debug");
  assert.throws(() => resolveConfig({}, { LOG_LEVEL: "loud" }), (err: unknown) => err instanceof ConfigError && err.problems[0]!.startsWith("LOG_LEVEL"));
  assert.deepEqual(resolveConfig({}, {}).metrics, { enabled: true, path: "/metrics", processMetrics: true, roles: ["metrics"] });
  assert.throws(() => resolveConfig({ metrics: { path: "/v1/x/y" } }, {}), (err: unknown) => err instanceof ConfigError && err.problems[0]!.startsWith("metrics.path"));
});
