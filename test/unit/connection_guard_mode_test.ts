import { test } from "node:test";
import assert from "node:assert/strict";
import { bunNeedsGuard, BUN_NATIVE_HEADER_TIMEOUT_MS } from "../../src/runtime/bun.ts";
import { resolveConfig } from "../../src/config/mod.ts";

const limits = { headerTimeoutMs: 10_000, idleTimeoutMs: 30_000, requestTimeoutMs: 30_000 };
const base = { port: 0, hostname: "127.0.0.1" };

test("bunNeedsGuard(): only TLS, a connection cap or a header timeout under Bun's own need the guard", () => {
  assert.equal(bunNeedsGuard({ ...base, limits }), false, "the defaults: Bun's own limits hold");
  assert.equal(bunNeedsGuard({ ...base, limits: { ...limits, maxConnections: 100 } }), true);
  assert.equal(bunNeedsGuard({ ...base, limits: { ...limits, headerTimeoutMs: BUN_NATIVE_HEADER_TIMEOUT_MS - 1 } }), true);
  assert.equal(bunNeedsGuard({ ...base, limits, tls: { cert: "c", key: "k", requireClientCert: false } }), true);
});

test("router.connectionGuard defaults to auto, takes on and off, and refuses anything else by path", () => {
  assert.equal(resolveConfig({}, {}).router.connectionGuard, "auto");
  assert.equal(resolveConfig({ router: { connectionGuard: "off" } }, {}).router.connectionGuard, "off");
  assert.throws(() => resolveConfig({ router: { connectionGuard: "maybe" } }, {}), /router\.connectionGuard/);
  assert.equal(resolveConfig({}, {}).router.maxConnections, undefined, "no cap unless set, as node:http");
});
