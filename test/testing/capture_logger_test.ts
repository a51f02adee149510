import { test } from "node:test";
import assert from "node:assert/strict";
import { captureLogger } from "../../src/testing/mod.ts";

test("captureLogger() records level, message and attributes", () => {
  const logger = captureLogger({ service: "router" });
  logger.info("started", { port: 8080 });
  logger.error("failed");
  assert.deepEqual(logger.entries, [
    { level: "info", msg: "started", attrs: { service: "router", port: 8080 } },
    { level: "error", msg: "failed", attrs: { service: "router" } },
  ]);
});

test("captureLogger().child() merges attributes and writes into the same entries", () => {
  const logger = captureLogger({ a: 1, b: 1 });
  const child = logger.child({ b: 2, c: 2 });
  const grandchild = child.child({ c: 3 });
  grandchild.warn("deep", { d: 4 });
  child.debug("mid");
  assert.deepEqual(logger.entries.map((e) => e.attrs), [{ a: 1, b: 2, c: 3, d: 4 }, { a: 1, b: 2, c: 2 }]);
  assert.equal(child.entries, logger.entries);
});

test("captureLogger().messages() filters by level and clear() empties every view", () => {
  const logger = captureLogger();
  const child = logger.child({ x: 1 });
  logger.debug("one");
  child.warn("two");
  logger.warn("three");
  assert.deepEqual(logger.messages(), ["one", "two", "three"]);
  assert.deepEqual(logger.messages("warn"), ["two", "three"]);
  child.clear();
  assert.equal(logger.entries.length, 0);
});
