import { test } from "node:test";
import assert from "node:assert/strict";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import * as v from "valibot";
import { AllowList, AllowListSchema, AuditLog, hashPluginCode, PluginRefusedError, startPluginProcess } from "../../src/supervisor/mod.ts";
import { currentRuntime } from "../../src/runtime/mod.ts";
import { startNatsServer, waitFor } from "../../src/testing/mod.ts";
import { connectBus } from "../../src/bus/mod.ts";
import { CLI, pluginPath } from "./_stack.ts";

const readLines = (path: string) => readFileSync(path, "utf8").trim().split("\n").map((l) => JSON.parse(l));

/** A copy of the hello plugin in a temp dir inside the repository (its packages resolve), so the test can change its code. */
function copyHello(): { dir: string; module: string } {
  const scratch = fileURLToPath(new URL("../../.cache/", import.meta.url));
  mkdirSync(scratch, { recursive: true });
  const dir = mkdtempSync(join(scratch, "allow-"));
  cpSync(join(pluginPath("hello"), ".."), join(dir, "hello"), { recursive: true });
  const module = join(dir, "hello", "mod.ts");
  // Point its SDK import back at this repository, by a relative path (an allow-list refuses absolute ones).
  const text = readFileSync(module, "utf8").replaceAll(/from "(\.\.\/)+src\//g, `from "${relative(dirname(module), join(pluginPath("hello"), "../../../src"))}/`);
  writeFileSync(module, text);
  return { dir, module };
}

test("hashPluginCode() covers the module, its local imports and its manifest; a change anywhere changes the hash", () => {
  const { dir, module } = copyHello();
  try {
    const first = hashPluginCode(module);
    assert.match(first.digest, /^sha256:[0-9a-f]{64}$/);
    assert.ok(first.files.some((f) => f.endsWith("/src/plugin/mod.ts")), "follows relative imports into the SDK");
    assert.equal(hashPluginCode(module).digest, first.digest, "stable");
    writeFileSync(join(dir, "hello", "plugin.json"), '{"permissions":{"net":true}}');
    const withManifest = hashPluginCode(module);
    assert.notEqual(withManifest.digest, first.digest, "the manifest (its permissions) is covered");
    writeFileSync(module, readFileSync(module, "utf8") + "\n// changed\n");
    assert.notEqual(hashPluginCode(module).digest, withManifest.digest);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a plugin whose hash is not on the allow-list is not started, the audit log says why; a listed one starts and is logged; reload picks up a new list", async () => {
  const { dir, module } = copyHello();
  await using nats = await startNatsServer();
  const nc = await connectBus({ servers: [nats.url] });
  const auditPath = join(dir, "audit", "audit.jsonl");
  const listFile = join(dir, "allow.json");
  writeFileSync(listFile, JSON.stringify({ hello: `sha256:${"0".repeat(64)}` }));
  const allowList = new AllowList(v.parse(AllowListSchema, { file: listFile, auditLog: auditPath }));
  const audit = new AuditLog(auditPath);
  const lines: string[] = [];
  const spec = { label: "hello", runtime: currentRuntime(), cli: CLI, module, natsUrl: nats.url, allowList, audit, onLine: (_: string, line: string) => lines.push(line) };
  try {
    const digest = hashPluginCode(module).digest;
    assert.throws(() => startPluginProcess(spec), (err: unknown) => {
      assert.ok(err instanceof PluginRefusedError);
      assert.equal(err.plugin, "hello");
      assert.equal(err.digest, digest);
      return true;
    });
    const [refused] = readLines(auditPath);
    assert.equal(refused.type, "plugin_refused");
    assert.equal(refused.plugin, "hello");
    assert.equal(refused.digest, digest);
    assert.match(refused.reason, /is not on the allow-list/);
    assert.ok(!Number.isNaN(Date.parse(refused.time)));
    // Nothing joined the bus.
    const info = await nc.request("$SRV.PING.hello", "", { timeout: 300 }).catch((err: Error) => err);
    assert.ok(info instanceof Error, "no instance answers");

    writeFileSync(listFile, JSON.stringify({ hello: [digest] }));
    assert.equal(allowList.reload(), 1);
    const instance = startPluginProcess(spec);
    try {
      await waitFor(async () => (await nc.request("$SRV.PING.hello", "", { timeout: 500 }).then(() => true, () => false)), { timeoutMs: 20_000, message: () => `hello to answer; its lines:\n${lines.join("\n")}` });
      const started = readLines(auditPath)[1];
      assert.equal(started.type, "plugin_started");
      assert.equal(started.digest, digest);
      assert.equal(started.pid, instance.child.pid);
    } finally {
      await instance.stop(5_000);
    }
    writeFileSync(listFile, "{ not json");
    assert.throws(() => allowList.reload(), /allow-list/);
    assert.equal(allowList.refusal("hello", digest), undefined, "a bad file keeps the old list");
    assert.match(allowList.refusal("other", digest)!, /"other" is not on the allow-list/);
  } finally {
    await nc.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
