import { test } from "node:test";
import assert from "node:assert/strict";
import { formatInstanceLine, newInstanceId, RestartPolicy } from "../../src/supervisor/mod.ts";
import { formatUptime } from "../../src/cli/ps_command.ts";
import { INSTANCE_ID } from "../../src/bus/mod.ts";

const SETTINGS = { baseDelayMs: 100, maxDelayMs: 1_000, stableAfterMs: 10_000, crashLoopRestarts: 3, crashLoopWindowMs: 60_000 };

test("RestartPolicy.crashed() doubles the delay per crash in a row up to the cap, and reports a crash loop once", () => {
  const policy = new RestartPolicy(SETTINGS);
  const decisions = [0, 1_000, 2_000, 3_000, 4_000, 5_000].map((now) => policy.crashed(now, 200));
  assert.deepEqual(decisions.map((d) => d.delayMs), [100, 200, 400, 800, 1_000, 1_000]);
  assert.deepEqual(decisions.map((d) => d.crashLoop), [false, false, true, true, true, true]);
  assert.deepEqual(decisions.map((d) => d.enteredCrashLoop), [false, false, true, false, false, false]);
  assert.equal(policy.crashLoop, true);
});

test("RestartPolicy: a stable run resets the backoff and ends the crash loop; old crashes leave the window", () => {
  const policy = new RestartPolicy(SETTINGS);
  for (const now of [0, 1, 2]) policy.crashed(now, 10);
  assert.equal(policy.crashLoop, true);
  assert.equal(policy.stable(), true, "it was looping");
  assert.equal(policy.crashLoop, false);
  assert.equal(policy.crashed(100_000, 20_000).delayMs, 100, "from the base again");
  assert.equal(policy.crashed(100_001, 5).crashLoop, false, "the crashes of long ago left the window");
  const ranLong = new RestartPolicy(SETTINGS);
  ranLong.crashed(0, 5);
  ranLong.crashed(1, 5);
  assert.equal(ranLong.crashed(2, 60_000).delayMs, 100, "a crash after a long run starts from the base");
});

test("newInstanceId() is a valid, unique instance id even for the longest plugin name", () => {
  const long = "a".repeat(63);
  const ids = new Set(Array.from({ length: 100 }, () => newInstanceId(long, 12)));
  assert.equal(ids.size, 100);
  for (const id of ids) assert.ok(INSTANCE_ID.test(id) && id.length <= 64, id);
  assert.match(newInstanceId("hello", 0), /^hello-0-[a-z0-9]{6}$/);
});

test("formatInstanceLine() prefixes for people and keeps JSON lines JSON, with the instance", () => {
  assert.equal(formatInstanceLine("pretty", "hello-0-abc123", "12:00 INFO plugin ready"), "[hello-0-abc123] 12:00 INFO plugin ready");
  assert.deepEqual(JSON.parse(formatInstanceLine("json", "hello-0-abc123", '{"level":"info","msg":"plugin ready"}')), { level: "info", msg: "plugin ready", instance: "hello-0-abc123" });
  const wrapped = JSON.parse(formatInstanceLine("json", "hello-0-abc123", "Error: boom"));
  assert.deepEqual([wrapped.msg, wrapped.instance, wrapped.level], ["Error: boom", "hello-0-abc123", "info"]);
});

test("formatUptime() reads at a glance", () => {
  assert.deepEqual([5_000, 303_000, 7_620_000, 273_600_000].map(formatUptime), ["5s", "5m03s", "2h07m", "3d04h"]);
});
