import { test } from "node:test";
import assert from "node:assert/strict";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { currentRuntime, runtimeCommand } from "../../src/runtime/mod.ts";
import { hashPluginCode } from "../../src/supervisor/mod.ts";
import { freePort, spawnProcess, waitFor } from "../../src/testing/mod.ts";
import { CLI } from "./_stack.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

test("`switchyard dev` with an allow-list starts the listed plugin, refuses the other, and audits both", async () => {
  mkdirSync(join(ROOT, ".cache"), { recursive: true });
  const dir = mkdtempSync(join(ROOT, ".cache", "dev-allow-"));
  try {
    for (const name of ["hello", "counter"]) {
      cpSync(join(ROOT, "plugins", name), join(dir, "plugins", name), { recursive: true });
      const module = join(dir, "plugins", name, "mod.ts");
      // The SDK by a relative path: an allow-list refuses absolute imports (they would leave the verified copy).
      writeFileSync(module, readFileSync(module, "utf8").replaceAll(/from "(\.\.\/)+src\//g, `from "${relative(dirname(module), join(ROOT, "src"))}/`));
    }
    const audit = join(dir, "audit.jsonl");
    const config = join(dir, "switchyard.config.json");
    writeFileSync(config, JSON.stringify({ allowList: { plugins: { hello: hashPluginCode(join(dir, "plugins", "hello", "mod.ts")).digest }, auditLog: audit } }));
    const port = await freePort();
    await using dev = spawnProcess(runtimeCommand(currentRuntime(), CLI, ["dev", "--port", String(port), "--plugins", join(dir, "plugins"), "--config", config]), {
      cwd: ROOT,
      env: { NATS_URL: undefined },
      name: "dev",
    });
    await dev.waitForLine("Switchyard dev is up", 60_000);
    assert.ok(dev.lines.some((l) => /Plugin "counter" was not started: "counter" is not on the allow-list/.test(l)), dev.lines.join("\n"));
    const res = await fetch(`http://127.0.0.1:${port}/v1/hello/greet`, { method: "POST", headers: { "content-type": "application/json" }, body: '{"name":"listed"}' });
    assert.equal(res.status, 200);
    const refused = await fetch(`http://127.0.0.1:${port}/v1/counter/increment`, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
    assert.equal(refused.status, 404, "the refused plugin never joined the bus");
    const lines = readFileSync(audit, "utf8").trim().split("\n").map((l) => JSON.parse(l));
    assert.deepEqual(lines.map((l) => [l.type, l.plugin]).sort(), [["plugin_refused", "counter"], ["plugin_started", "hello"]]);
    const started = lines.find((l) => l.type === "plugin_started");
    assert.equal(started.runtime, currentRuntime());
    if (currentRuntime() === "deno") assert.ok(Array.isArray(started.sandbox) && started.sandbox.some((f: string) => f.startsWith("--allow-net=127.0.0.1:")), "Deno plugins run sandboxed");
    // A new plugin.json is a new code hash: its options are not pushed to the approved instance.
    const mark = dev.lines.length;
    writeFileSync(join(dir, "plugins", "hello", "plugin.json"), '{ "options": { "greeting": "pwned" } }');
    await waitFor(() => dev.lines.slice(mark).some((l) => /✗ hello: not applied/.test(l)), { timeoutMs: 20_000, message: () => dev.lines.slice(mark).join("\n") });
    assert.match(dev.lines.slice(mark).join("\n"), /its code hash sha256:[0-9a-f]+ is not on the allow-list for "hello"/);
    assert.ok(!dev.lines.slice(mark).some((l) => /options applied/.test(l)), "nothing was pushed");
    dev.kill("SIGINT");
    assert.equal((await dev.exited).code, 0, dev.lines.slice(-20).join("\n"));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
