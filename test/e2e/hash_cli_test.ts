import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { currentRuntime, runtimeCommand } from "../../src/runtime/mod.ts";
import { hashApiKey, parsePasswordHash, verifyPassword } from "../../src/auth/mod.ts";
import { hashPluginCode } from "../../src/supervisor/mod.ts";
import { CLI, pluginPath } from "./_stack.ts";

function cli(args: string[], input = ""): { code: number | null; out: string; err: string } {
  const [cmd, ...rest] = runtimeCommand(currentRuntime(), CLI, args);
  const res = spawnSync(cmd!, rest, { input, encoding: "utf8", timeout: 30_000 });
  return { code: res.status, out: res.stdout, err: res.stderr };
}

test("switchyard hash-key, hash-password and hash-plugin print what the config takes", async () => {
  const key = cli(["hash-key", "--id", "ci", "--roles", "deploy,read"]);
  assert.equal(key.code, 0, key.err);
  const [, made] = /^key: +(sy_\S+)$/m.exec(key.out)!;
  const entry = JSON.parse(/^entry: (.*)$/m.exec(key.out)![1]!);
  assert.deepEqual(entry, { id: "ci", hash: hashApiKey(made!), roles: ["deploy", "read"] });

  const pw = cli(["hash-password", "--ln", "10"], "wonderland\n");
  assert.equal(pw.code, 0, pw.err);
  assert.equal(await verifyPassword("wonderland", parsePasswordHash(pw.out.trim())), true);
  assert.equal(cli(["hash-password"], "").code, 2, "no password on stdin is a usage error");

  const plugin = cli(["hash-plugin", pluginPath("hello")]);
  assert.equal(plugin.code, 0, plugin.err);
  assert.equal(plugin.out.trim(), `hello ${hashPluginCode(pluginPath("hello")).digest}`);
});
