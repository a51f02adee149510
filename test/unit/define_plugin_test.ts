import { test } from "node:test";
import assert from "node:assert/strict";
import * as v from "valibot";
import { definePlugin, isPlugin, PluginError } from "../../src/plugin/mod.ts";
import { isSwitchyardError } from "../../src/errors.ts";

const method = { input: v.object({}), output: v.object({}), handler: () => ({}) };

test("definePlugin() accepts the grammar and returns a frozen, branded plugin", () => {
  const p = definePlugin({ name: "a-b9", version: "1.2.3-rc.1+build.5", methods: { get_X: method, "do-it": method } });
  assert.equal(isPlugin(p), true);
  assert.equal(Object.isFrozen(p), true);
  assert.deepEqual(Object.keys(p.methods), ["get_X", "do-it"]);
});

test("definePlugin() rejects names and versions that could break a subject", () => {
  for (const name of ["", "Hello", "9lives", "a.b", "a*", "a>", "a b", "$SYS", "_INBOX", "a".repeat(64)]) {
    assert.throws(() => definePlugin({ name, version: "1.0.0", methods: { m: method } }), TypeError, name);
  }
  for (const version of ["1", "1.0", "v1.0.0", "1.0.0.0", "01.0.0", "1.0.0 "]) {
    assert.throws(() => definePlugin({ name: "ok", version, methods: { m: method } }), /semver/, version);
  }
  for (const m of ["a.b", "9x", "a*", "x\r\n", ""]) {
    assert.throws(() => definePlugin({ name: "ok", version: "1.0.0", methods: { [m]: method } }), /method name/, JSON.stringify(m));
  }
  assert.throws(() => definePlugin({ name: "ok", version: "1.0.0", methods: {} }), /no methods/);
  const notABoolean = { ...method, stream: "yes" } as unknown as typeof method;
  assert.throws(() => definePlugin({ name: "ok", version: "1.0.0", methods: { m: notABoolean } }), /stream must be true or false/);
});

test("PluginError carries code and status and is recognised by its brand", () => {
  const err = new PluginError("out_of_stock", "none left", { status: 409 });
  assert.equal(err.code, "out_of_stock");
  assert.equal(err.status, 409);
  assert.equal(isSwitchyardError(err), true);
  assert.equal(isSwitchyardError({ isSwitchyardError: true }), true, "a copy from another bundle still counts");
  assert.equal(new PluginError("x", "y").status, 500);
});
