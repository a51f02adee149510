import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import type { NatsConnection } from "@nats-io/nats-core";
import { connectBus } from "../../src/bus/mod.ts";
import { currentRuntime, runtimeCommand } from "../../src/runtime/mod.ts";
import { requestPs } from "../../src/supervisor/mod.ts";
import { freePort, spawnProcess, waitFor } from "../../src/testing/mod.ts";
import type { ProcessHandle } from "../../src/testing/mod.ts";
import { CLI } from "./_stack.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

describe("`switchyard dev` follows the plugin folder", () => {
  let dir: string;
  let plugins: string;
  let configPath: string;
  let dev: ProcessHandle;
  let url: string;
  let nc: NatsConnection;
  /** Copies a repository plugin into the watched folder as `name`, its SDK imported by a relative path. */
  const addPlugin = (from: string, name: string) => {
    const to = join(plugins, name);
    mkdirSync(to, { recursive: true });
    const source = readFileSync(join(ROOT, "plugins", from, "mod.ts"), "utf8")
      .replace(`name: "${from}"`, `name: "${name}"`)
      .replaceAll(/from "(\.\.\/)+src\//g, `from "${relative(to, join(ROOT, "src"))}/`);
    writeFileSync(join(to, "mod.ts"), source);
  };
  const post = async (path: string, body: unknown) => {
    const res = await fetch(`${url}/v1/${path}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    return { status: res.status, body: await res.json() };
  };
  const increment = async (plugin = "counter") => {
    const reply = await post(`${plugin}/increment`, { value: 1 });
    assert.equal(reply.status, 200, JSON.stringify(reply.body));
    return reply.body as { count: number; added: number };
  };
  const instanceOf = async (plugin: string) =>
    (await requestPs(nc, "sy")).flatMap((s) => s.instances).find((i) =>
      i.plugin === plugin && i.state === "running"
    )?.id;
  /** Waits for a line printed after the `from`-th line of dev's output. */
  const nextLine = async (from: number, pattern: RegExp) => {
    await waitFor(() => dev.lines.slice(from).some((l) => pattern.test(l)), {
      timeoutMs: 30_000,
      message: () => `${pattern} in dev's lines:\n${dev.lines.slice(from).join("\n")}`,
    });
    return dev.lines.slice(from).find((l) => pattern.test(l))!;
  };
  const manifest = (plugin: string, text: string) => {
    const mark = dev.lines.length;
    writeFileSync(join(plugins, plugin, "plugin.json"), text);
    return mark;
  };

  before(async () => {
    mkdirSync(join(ROOT, ".cache"), { recursive: true });
    dir = mkdtempSync(join(ROOT, ".cache", "dev-folder-"));
    plugins = join(dir, "plugins");
    addPlugin("counter", "counter");
    writeFileSync(join(plugins, "counter", "plugin.json"), '{ "options": { "step": 1 } }');
    addPlugin("counter", "tally");
    configPath = join(dir, "switchyard.config.json");
    writeFileSync(configPath, JSON.stringify({ plugins: { tally: { options: { step: 2 } } } }));
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    dev = spawnProcess(
      runtimeCommand(currentRuntime(), CLI, [
        "dev",
        "--port",
        String(port),
        "--plugins",
        plugins,
        "--config",
        configPath,
      ]),
      {
        cwd: ROOT,
        env: { NATS_URL: undefined },
        name: "dev",
        maxLines: 5_000,
      },
    );
    const up = await dev.waitForLine("Switchyard dev is up", 60_000);
    nc = await connectBus({ servers: [/NATS (\S+),/.exec(up)![1]!] });
  });
  after(async () => {
    await nc?.close();
    dev?.kill("SIGINT");
    await dev?.exited;
    rmSync(dir, { recursive: true, force: true });
  });

  test("new options in plugin.json reach the running instance, which keeps its state; refused and unknown ones are not reported as applied", async () => {
    assert.deepEqual(await increment(), { count: 1, added: 1 });
    const id = await instanceOf("counter");
    await nextLine(
      manifest("counter", '{ "options": { "step": 5 } }'),
      /counter: plugin\.json options applied to the running instances/,
    );
    assert.deepEqual(await increment(), { count: 6, added: 5 }, "same count, new step");
    assert.equal(await instanceOf("counter"), id, "the same instance");

    const refused = await nextLine(
      manifest("counter", '{ "options": { "step": 0 } }'),
      /counter: plugin\.json options refused/,
    );
    assert.ok(!/applied/.test(refused), refused);
    assert.match(dev.lines.slice(dev.lines.indexOf(refused)).join("\n"), /options\.step/);
    assert.deepEqual(await increment(), { count: 11, added: 5 }, "the previous options stay");

    const mark = manifest("counter", '{ "options": { "step": 5, "stpe": 2 } }');
    await nextLine(mark, /counter: plugin\.json options not applied, the plugin has no such options: stpe/);
    await nextLine(mark, /counter: plugin\.json options applied .*except stpe/);

    await nextLine(
      manifest("counter", '{ "options": '),
      /counter: not applied, the running instances keep their code, options and sandbox/,
    );
    assert.deepEqual(await increment(), { count: 16, added: 5 });
    assert.equal(await instanceOf("counter"), id, "still the same instance");
  });

  test("new permissions in plugin.json replace the instances blue-green; a code change does too", async () => {
    const id = await instanceOf("counter");
    await nextLine(
      manifest("counter", '{ "options": { "step": 3 }, "permissions": { "net": true } }'),
      /counter: plugin\.json applied: its permissions, requirements or runtime changed/,
    );
    const replaced = await instanceOf("counter");
    assert.notEqual(replaced, id);
    assert.deepEqual(await increment(), { count: 3, added: 3 }, "a new process, with the new options");
    const mark = dev.lines.length;
    const module = join(plugins, "counter", "mod.ts");
    writeFileSync(module, readFileSync(module, "utf8").replace('version: "1.0.0"', 'version: "1.0.1"'));
    await nextLine(mark, /↻ counter reloaded \(1\.0\.1\)/);
    assert.deepEqual(
      await increment(),
      { count: 3, added: 3 },
      "the code reload keeps the manifest's options",
    );
  });

  test("a plugin folder added while dev runs is started; removed, it is drained", async () => {
    const mark = dev.lines.length;
    addPlugin("hello", "hello");
    await nextLine(mark, /\+ hello: new plugin folder, started/);
    await waitFor(async () => (await post("hello/greet", { name: "new" })).status === 200, {
      timeoutMs: 10_000,
      message: () => `hello answers; dev:\n${dev.lines.slice(mark).join("\n")}`,
    });
    assert.deepEqual((await post("hello/greet", { name: "new" })).body, { message: "Hello, new" });

    const gone = dev.lines.length;
    rmSync(join(plugins, "hello"), { recursive: true, force: true });
    await nextLine(gone, /- hello: its folder is gone; its instances were drained/);
    // The router no longer has an instance of it: a clean JSON error, no hang.
    const after = await post("hello/greet", { name: "gone" });
    assert.ok(after.status === 404 || after.status === 503, JSON.stringify(after));
    assert.match(after.body.error.code, /not_found|unavailable|no_responders/);
    assert.equal(
      (await requestPs(nc, "sy")).flatMap((s) => s.instances).some((i) => i.plugin === "hello"),
      false,
      "the supervisor runs none",
    );
  });

  test("the config reload line lists as applied only the options a plugin took: refused and unknown ones are notApplied", async () => {
    assert.deepEqual(await increment("tally"), { count: 2, added: 2 });
    const write = (options: unknown) => {
      const mark = dev.lines.length;
      writeFileSync(configPath, JSON.stringify({ plugins: { tally: { options } } }));
      return mark;
    };
    const refused = await nextLine(write({ step: 0 }), /config reloaded/);
    assert.match(refused, /applied=\[\]/);
    assert.match(refused, /notApplied=\["plugins\.tally\.options\.step"\]/);
    assert.deepEqual(await increment("tally"), { count: 4, added: 2 });

    const partly = await nextLine(write({ step: 3, stpe: 1 }), /config reloaded/);
    assert.match(partly, /applied=\["plugins\.tally\.options\.step"\]/);
    assert.match(partly, /notApplied=\["plugins\.tally\.options\.stpe"\]/);
    assert.deepEqual(await increment("tally"), { count: 7, added: 3 });
  });
});
