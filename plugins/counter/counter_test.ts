import { test } from "node:test";
import assert from "node:assert/strict";
import { startPluginHarness } from "../../src/testing/mod.ts";
import plugin from "./mod.ts";

test("counter.increment adds value × step, get reads it, reset clears it", async () => {
  await using h = await startPluginHarness(plugin, { options: { step: 3 } });
  assert.deepEqual(await h.call("increment", { value: 2 }), { count: 6, added: 6 });
  assert.deepEqual(await h.call("increment", {}), { count: 9, added: 3 });
  assert.deepEqual(await h.call("get", {}), { count: 9 });
  assert.deepEqual(await h.call("reset", {}), { count: 0 });
  assert.deepEqual(await h.call("get", {}), { count: 0 });
});

test("counter refuses a step that is not a positive integer", async () => {
  await assert.rejects(startPluginHarness(plugin, { options: { step: 0 } }), /options\.step/);
});
