import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { denoSandboxFlags, findPlugins, PluginRefusedError, startPluginProcess } from "../../src/supervisor/mod.ts";
import type { PluginProcess } from "../../src/supervisor/mod.ts";
import { fixturePath, startStack, CLI } from "./_stack.ts";
import type { Stack } from "./_stack.ts";

const FIXTURES = fileURLToPath(new URL("../fixtures/", import.meta.url));

// Whatever runtime runs this file, the instance is a Deno process started by the supervisor.
describe("a Deno plugin runs in the sandbox its manifest declares", () => {
  let stack: Stack;
  let instance: PluginProcess;
  const lines: string[] = [];
  before(async () => {
    stack = await startStack([]);
    const folder = findPlugins(FIXTURES).find((f) => f.name === "sandboxed")!;
    instance = startPluginProcess({
      label: "sandboxed",
      runtime: "deno",
      cli: CLI,
      module: fixturePath("sandboxed"),
      natsUrl: stack.nats.url,
      requires: folder.requires,
      permissions: folder.permissions,
      onLine: (_label, line) => lines.push(line),
    });
    await stack.waitForInstances("sandboxed", 1).catch((err) => {
      throw new Error(`${(err as Error).message}; its lines:\n${lines.join("\n")}`);
    });
  });
  after(async () => {
    await instance.stop(5_000);
    await stack[Symbol.asyncDispose]();
  });

  test("denoSandboxFlags() gives exactly the manifest's permissions plus NATS and OTEL", () => {
    const flags = denoSandboxFlags({ read: ["./data"], net: ["api.example.com:443"] }, { pluginDir: "/p", natsServers: ["nats://127.0.0.1:4222"] });
    assert.deepEqual(flags.filter((f) => !f.startsWith("--allow-env=")), ["--allow-net=api.example.com:443,127.0.0.1:4222", "--allow-read=/p/data"]);
    assert.match(flags.find((f) => f.startsWith("--allow-env="))!, /^--allow-env=OTEL_\*,NATS_USER,/);
    assert.deepEqual(denoSandboxFlags({}, { pluginDir: "/p", natsServers: ["tls://nats.example:4443"] }).slice(0, 1), ["--allow-net=nats.example:4443"]);
    assert.deepEqual(denoSandboxFlags("all", { pluginDir: "/p", natsServers: [] }), ["-A"]);
  });

  test("reading /etc/passwd without read permission fails with a permission error, and the instance keeps serving", async () => {
    const denied = await stack.post("sandboxed/read", { path: "/etc/passwd" });
    assert.equal(denied.status, 200, JSON.stringify(denied.body));
    assert.equal(denied.body.ok, false);
    assert.match(denied.body.error, /NotCapable|Requires read access/);
    const allowed = await stack.post("sandboxed/read", { path: "./data/note.txt" });
    assert.deepEqual(allowed.body, { ok: true, length: 28 });
    assert.deepEqual((await stack.post("sandboxed/ping", {})).body, { pong: true });
    assert.equal(instance.child.exitCode, null, "the instance is still running");
  });
});

describe("a Deno sandbox's read grants cannot lead out through symbolic links", () => {
  let stack: Stack;
  let dir: string;
  let module: string;
  const running: PluginProcess[] = [];
  const lines: string[] = [];
  const start = () => {
    const folder = findPlugins(join(dir, "..")).find((f) => f.name === "linked")!;
    return startPluginProcess({
      label: "linked",
      runtime: "deno",
      cli: CLI,
      module,
      natsUrl: stack.nats.url,
      requires: folder.requires,
      permissions: folder.permissions,
      onLine: (_label, line) => lines.push(line),
    });
  };
  before(async () => {
    stack = await startStack([]);
    const root = fileURLToPath(new URL("../../", import.meta.url));
    mkdirSync(join(root, ".cache"), { recursive: true });
    dir = join(mkdtempSync(join(root, ".cache", "links-")), "linked");
    cpSync(join(FIXTURES, "sandboxed"), dir, { recursive: true });
    module = join(dir, "mod.ts");
    const source = readFileSync(module, "utf8").replace('"sandboxed"', '"linked"');
    writeFileSync(module, source.replaceAll(/from "(\.\.\/)+src\//g, `from "${relative(dir, join(root, "src"))}/`));
  });
  after(async () => {
    await Promise.all(running.map((p) => p.stop(5_000)));
    await stack[Symbol.asyncDispose]();
    rmSync(join(dir, ".."), { recursive: true, force: true });
  });

  test("a link in a granted folder to /etc/passwd refuses the start; a grant that is a link refuses it too; a link that stays inside is fine", async () => {
    symlinkSync("/etc/passwd", join(dir, "data", "passwd"));
    assert.throws(() => running.push(start()), (err: unknown) => {
      assert.ok(err instanceof PluginRefusedError, String(err));
      assert.match(err.message, /read grant "\.\/data": passwd is a symbolic link to \/etc\/passwd, outside the granted folder/);
      return true;
    });
    unlinkSync(join(dir, "data", "passwd"));
    writeFileSync(join(dir, "plugin.json"), '{ "permissions": { "read": ["./data", "./etc"] } }');
    symlinkSync("/etc", join(dir, "etc"));
    assert.throws(() => running.push(start()), /read grant "\.\/etc" is a symbolic link to \/etc: grant \/etc itself/);
    unlinkSync(join(dir, "etc"));
    writeFileSync(join(dir, "plugin.json"), '{ "permissions": { "read": ["./data"] } }');
    symlinkSync("note.txt", join(dir, "data", "alias.txt"));
    running.push(start());
    await stack.waitForInstances("linked", 1).catch((err) => {
      throw new Error(`${(err as Error).message}; its lines:\n${lines.join("\n")}`);
    });
    assert.deepEqual((await stack.post("linked/read", { path: "./data/alias.txt" })).body, { ok: true, length: 28 });
  });
});
