import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { currentRuntime, runtimeCommand } from "../../src/runtime/mod.ts";
import { spawnProcess, startNatsServer } from "../../src/testing/mod.ts";
import { CLI, pluginPath, startPlugin, startStack } from "./_stack.ts";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
/** The node runner's own marker: with it, a nested `node --test` takes itself for one of our files and runs nothing. */
const SCAFFOLD_TEST_ENV = { NODE_TEST_CONTEXT: undefined };
const run = async (args: string[], cwd = ROOT) => {
  await using proc = spawnProcess(runtimeCommand(currentRuntime(), CLI, args), { cwd, name: `switchyard ${args[0]}` });
  const status = await proc.exited;
  return { code: status.code, out: proc.lines.join("\n") };
};

test("switchyard --help lists every command, and each command has --help", async () => {
  const help = await run(["--help"]);
  assert.equal(help.code, 0);
  const names = ["dev", "router", "plugin", "call", "ls", "ping", "conformance", "new", "up", "ps", "reload", "drain", "trace", "hash-key", "hash-password", "hash-plugin"];
  for (const name of names) assert.match(help.out, new RegExp(`^  ${name} `, "m"));
  // Each in a process of its own, all at once.
  const own = await Promise.all(names.map((name) => run([name, "--help"])));
  names.forEach((name, i) => {
    assert.equal(own[i]!.code, 0, name);
    assert.match(own[i]!.out, new RegExp(`^Usage: (.* \\| )?switchyard ${name}`, "m"));
  });
  const unknown = await run(["frobnicate"]);
  assert.equal(unknown.code, 2);
  assert.match(unknown.out, /Unknown command "frobnicate"/);
});

test("switchyard router with a bad config exits 78 naming each problem by dotted path", async () => {
  const dir = mkdtempSync(join(ROOT, ".cache-cli-"));
  try {
    const file = join(dir, "bad.json");
    writeFileSync(file, JSON.stringify({ router: { port: "x", timeoutMs: -1 }, bogus: 1 }));
    const res = await run(["router", "--config", file]);
    assert.equal(res.code, 78);
    assert.match(res.out, /router\.port: /);
    assert.match(res.out, /router\.timeoutMs: /);
    assert.match(res.out, /bogus: unknown key/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("switchyard call, ping and ls work straight over NATS", async () => {
  await using nats = await startNatsServer();
  const plugin = await startPlugin(pluginPath("hello"), nats.url, { instanceId: "cli-hello" });
  try {
    const call = await run(["call", "hello", "greet", '{"name":"CLI"}', "--nats", nats.url]);
    assert.equal(call.code, 0, call.out);
    assert.match(call.out, /\{"message":"Hello, CLI"\}/);
    const bad = await run(["call", "hello", "greet", '{"name":1}', "--nats", nats.url]);
    assert.equal(bad.code, 1);
    assert.match(bad.out, /422 validation_failed/);
    const ping = await run(["ping", "hello", "--instance-id", "cli-hello", "--nats", nats.url]);
    assert.equal(ping.code, 0, ping.out);
    const missing = await run(["ping", "nobody", "--nats", nats.url, "--timeout", "300"]);
    assert.equal(missing.code, 1);
    const ls = await run(["ls", "--json", "--nats", nats.url]);
    const listed = JSON.parse(ls.out) as { name: string; id: string; endpoints: { name: string }[] }[];
    assert.deepEqual(listed.map((i) => [i.name, i.id, i.endpoints.map((e) => e.name)]), [["hello", "cli-hello", ["greet"]]]);
  } finally {
    await plugin.stop(5_000);
  }
});

test("switchyard call prints a streaming method's items one per line", async () => {
  await using nats = await startNatsServer();
  const plugin = await startPlugin(pluginPath("text"), nats.url, { instanceId: "cli-text" });
  try {
    const call = await run(["call", "text", "words", '{"text":"one two three"}', "--nats", nats.url]);
    assert.equal(call.code, 0, call.out);
    assert.match(call.out, /\{"index":0,"word":"one"\}\n\{"index":1,"word":"two"\}\n\{"index":2,"word":"three"\}/);
  } finally {
    await plugin.stop(5_000);
  }
});

test("switchyard call and the router give the same status, code, message and issues for the same input", async () => {
  await using stack = await startStack([pluginPath("hello")]);
  const cases: [plugin: string, method: string, body: string][] = [
    ["hello", "greet", '{"name":1}'],
    ["hello", "greet", "{}"],
    ["hello", "greet", JSON.stringify({ name: "x".repeat(201) })],
    ["hello", "greet", "[]"],
    ["hello", "greet", "{"],
    ["hello", "nope", "{}"],
    ["hello", "bad.name", "{}"],
    ["nobody", "greet", "{}"],
    ["Bad_Name", "greet", "{}"],
  ];
  const answers = await Promise.all(cases.map(async ([plugin, method, body]) => {
    const res = await fetch(`${stack.url}/v1/${plugin}/${method}`, { method: "POST", headers: { "content-type": "application/json" }, body });
    const { error } = await res.json() as { error?: { code: string; message: string; issues?: unknown } };
    const router = error === undefined ? `${res.status}` : `${res.status} ${error.code}: ${error.message}${error.issues ? ` ${JSON.stringify(error.issues)}` : ""}`;
    const call = await run(["call", plugin, method, body, "--nats", stack.nats.url]);
    return { router, call };
  }));
  answers.forEach(({ router, call }, i) => {
    assert.equal(call.code, 1, `${cases[i]!.join(" ")}: ${call.out}`);
    assert.equal(call.out, router, cases[i]!.join(" "));
  });
  const ok = await run(["call", "hello", "greet", '{"name":"x"}', "--nats", stack.nats.url]);
  assert.equal(ok.code, 0, ok.out);
  assert.ok(ok.out.split("\n").includes(JSON.stringify((await stack.post("hello/greet", { name: "x" })).body)), ok.out);
});

test("switchyard new --stream scaffolds a streaming plugin: its own test passes, and it streams over NATS as a process", async () => {
  const dir = mkdtempSync(join(ROOT, ".cache-new-"));
  try {
    const created = await run(["new", "ticker", "--stream", "--dir", dir]);
    assert.equal(created.code, 0, created.out);
    assert.match(created.out, /Call it: .* call ticker count '\{"to":3\}'/);
    const module = join(dir, "ticker", "mod.ts");
    assert.match(readFileSync(module, "utf8"), /stream: true,[\s\S]*async function\* \(input, ctx\)/);
    const testFile = join(dir, "ticker", "ticker_test.ts");
    const argv = currentRuntime() === "deno"
      ? ["deno", "test", "-A", testFile]
      : currentRuntime() === "bun"
      ? ["bun", "test", testFile]
      : ["node", "--test", testFile];
    await using child = spawnProcess(argv, { cwd: ROOT, name: "scaffold test", env: SCAFFOLD_TEST_ENV });
    const status = await child.exited;
    assert.equal(status.code, 0, child.lines.join("\n"));
    // node: "pass 2", bun: "2 pass", deno: "2 passed".
    assert.match(child.lines.join("\n"), /\b2 pass|\bpass 2\b/, `both of its tests ran: ${child.lines.join("\n")}`);

    await using nats = await startNatsServer();
    const plugin = await startPlugin(module, nats.url);
    try {
      const call = await run(["call", "ticker", "count", '{"to":3}', "--nats", nats.url]);
      assert.equal(call.code, 0, call.out);
      assert.deepEqual(call.out.split("\n").filter((l) => l.startsWith("{")), ['{"n":1}', '{"n":2}', '{"n":3}']);
    } finally {
      await plugin.stop(5_000);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("switchyard new scaffolds a plugin whose own test passes", async () => {
  const dir = mkdtempSync(join(ROOT, ".cache-new-"));
  try {
    const created = await run(["new", "weather", "--dir", dir]);
    assert.equal(created.code, 0, created.out);
    const again = await run(["new", "weather", "--dir", dir]);
    assert.equal(again.code, 2, "refuses to overwrite");
    const testFile = join(dir, "weather", "weather_test.ts");
    const argv = currentRuntime() === "deno"
      ? ["deno", "test", "-A", testFile]
      : currentRuntime() === "bun"
      ? ["bun", "test", testFile]
      : ["node", "--test", testFile];
    await using child = spawnProcess(argv, { cwd: ROOT, name: "scaffold test", env: SCAFFOLD_TEST_ENV });
    const status = await child.exited;
    assert.equal(status.code, 0, child.lines.join("\n"));
    assert.match(child.lines.join("\n"), /\b1 pass|\bpass 1\b/, `its test ran: ${child.lines.join("\n")}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
