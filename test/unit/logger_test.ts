import { test } from "node:test";
import assert from "node:assert/strict";
import { createLogger } from "../../src/telemetry/logger.ts";

test("createLogger() writes JSON lines with time, level, message and attributes, above its level", () => {
  const lines: string[] = [];
  const log = createLogger({ level: "info", write: (l) => lines.push(l), base: { component: "router" } });
  log.debug("hidden");
  log.child({ requestId: "r1" }).warn("slow", { ms: 12, error: new Error("boom") });
  assert.equal(lines.length, 1);
  assert.ok(lines[0]!.endsWith("\n"));
  const entry = JSON.parse(lines[0]!);
  assert.equal(entry.level, "warn");
  assert.equal(entry.msg, "slow");
  assert.equal(entry.component, "router");
  assert.equal(entry.requestId, "r1");
  assert.equal(entry.ms, 12);
  assert.deepEqual(entry.error, { name: "Error", message: "boom" });
  assert.ok(!Number.isNaN(Date.parse(entry.time)));
});

test("createLogger() pretty format is one readable line", () => {
  const lines: string[] = [];
  createLogger({ format: "pretty", write: (l) => lines.push(l) }).info("router ready", { url: "http://x" });
  assert.match(lines[0]!, /^\d\d:\d\d:\d\d\.\d{3} INFO  router ready  url=http:\/\/x\n$/);
});

test("createLogger() keeps time, level and msg first and never lets an attribute replace them", () => {
  const lines: string[] = [];
  createLogger({ write: (l) => lines.push(l) }).warn("real", { msg: "fake", level: "debug", time: "never", traceId: "t1" });
  const entry = JSON.parse(lines[0]!);
  assert.deepEqual(Object.keys(entry).slice(0, 3), ["time", "level", "msg"]);
  assert.equal(entry.msg, "real");
  assert.equal(entry.level, "warn");
  assert.ok(!Number.isNaN(Date.parse(entry.time)));
  assert.equal(entry.traceId, "t1");
});
