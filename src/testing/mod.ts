/**
 * Test helpers for Switchyard: a real `nats-server` (single or clustered) on loopback, child
 * processes with line matching, condition waits, a fake clock, a wall clock a test can move
 * forward, and a capturing logger.
 * Everything uses `node:` built-ins only, so tests run unchanged on Deno 2, Bun 1 and Node 24.
 *
 * Runner notes (`node:test` + `node:assert/strict`, checked on Deno 2.9, Bun 1.4, Node 24):
 * - `describe`, `test`, `before`, `after`, `beforeEach` and `afterEach` work on all three.
 * - `t.after(fn)` inside a test does NOT run on Deno 2.9 (it exists but is never called). Clean
 *   up with `await using` (supported by all three) or `try/finally` instead.
 * - Deno counts a `describe` block as one test and its tests as steps.
 * - Bun stops a test after 5 s by default; `scripts/test.sh` raises that limit.
 *
 * @example
 * ```ts
 * import { test } from "node:test";
 * import assert from "node:assert/strict";
 * import { connect } from "@nats-io/transport-node";
 * import { startNatsServer, Latch } from "switchyard/testing";
 *
 * test("a subscriber receives what is published", async () => {
 *   await using server = await startNatsServer();
 *   const nc = await connect({ servers: server.url });
 *   const latch = new Latch(1);
 *   nc.subscribe("greet", { callback: () => latch.countDown() });
 *   nc.publish("greet", "hi");
 *   await latch.wait(1000);
 *   await nc.close();
 * });
 * ```
 * @module
 */

export { captureLogger } from "./capture_logger.ts";
export { FakeClock } from "./fake_clock.ts";
export { OffsetClock } from "./offset_clock.ts";
export { startNatsCluster } from "./nats_cluster.ts";
export { DEFAULT_NATS_START_TIMEOUT_MS, startNatsServer } from "./nats_server.ts";
export { ERROR_TAIL_LINES, freePort, spawnProcess } from "./process.ts";
export { DEFAULT_WAIT_TIMEOUT_MS, deferred, Latch, waitFor } from "./wait.ts";
export { startPluginHarness } from "./plugin_harness.ts";

export type { CaptureLogger, LogEntry } from "./capture_logger.ts";
export type { NatsCluster, NatsClusterOptions } from "./nats_cluster.ts";
export type { NatsServer, NatsServerOptions } from "./nats_server.ts";
export type { ExitStatus, ProcessHandle, SpawnOptions } from "./process.ts";
export type { Deferred, WaitForOptions } from "./wait.ts";
export type { PluginHarness } from "./plugin_harness.ts";
