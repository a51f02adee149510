import { test } from "node:test";
import assert from "node:assert/strict";
import { controlSubject, decodeWireError } from "../../src/bus/mod.ts";
import { startPluginHarness } from "../../src/testing/mod.ts";
import counter from "../../plugins/counter/mod.ts";

test("a plugin's options change while it runs: setOptions() and the control subject; invalid ones are refused and the old stay", async () => {
  await using h = await startPluginHarness(counter, { instanceId: "counter-1", options: { step: 2 } });
  assert.deepEqual(await h.call("increment", { value: 1 }), { count: 2, added: 2 });
  assert.deepEqual(h.host.setOptions({ step: 3 }), ["step"]);
  assert.deepEqual(await h.call("increment", { value: 1 }), { count: 5, added: 3 });

  const subject = controlSubject("sy", "counter", "counter-1", "options");
  const ok = await h.nc.request(subject, JSON.stringify({ step: 10 }), { timeout: 2_000 });
  assert.deepEqual(ok.json(), { ok: true, changed: ["step"], options: { step: 10 } });
  assert.deepEqual(await h.call("increment", { value: 1 }), { count: 15, added: 10 });
  // A key the schema does not know is dropped: the reply's options show it is not in force.
  const typo = await h.nc.request(subject, JSON.stringify({ step: 10, stpe: 7 }), { timeout: 2_000 });
  assert.deepEqual(typo.json(), { ok: true, changed: [], options: { step: 10 } });

  const bad = await h.nc.request(subject, JSON.stringify({ step: "ten" }), { timeout: 2_000 });
  const err = decodeWireError(bad.headers, bad.data);
  assert.equal(err?.status, 422);
  assert.match(err!.message, /options\.step: /);
  assert.throws(() => h.host.setOptions({ step: 0 }), /options\.step/);
  assert.deepEqual(await h.call("increment", { value: 1 }), { count: 25, added: 10 }, "the last good options stay");
  const unknown = await h.nc.request(controlSubject("sy", "counter", "counter-1", "restart"), "", { timeout: 2_000 });
  assert.equal(decodeWireError(unknown.headers, unknown.data)?.status, 404);
});
