import { test } from "node:test";
import assert from "node:assert/strict";
import { startPluginHarness } from "../../src/testing/mod.ts";
import plugin from "./mod.ts";

test("hello.greet greets by name", async () => {
  await using h = await startPluginHarness(plugin);
  assert.deepEqual(await h.call("greet", { name: "World" }), { message: "Hello, World" });
});

test("hello.greet rejects a missing or non-string name with validation_failed", async () => {
  await using h = await startPluginHarness(plugin);
  await assert.rejects(h.call("greet", { name: 5 }), { code: "validation_failed", status: 422 });
  await assert.rejects(h.call("greet", {}), (err: { issues?: { path: string }[] }) => err.issues?.[0]?.path === "name");
});
