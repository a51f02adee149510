import { test } from "node:test";
import assert from "node:assert/strict";
import { currentRuntime, runtimeCommand } from "../../src/runtime/mod.ts";
import { freePort, spawnProcess } from "../../src/testing/mod.ts";
import { CLI } from "./_stack.ts";

test("`switchyard dev` starts nats-server, the router and the plugins; Ctrl-C stops all with exit 0", async () => {
  const port = await freePort();
  const cwd = new URL("../..", import.meta.url).pathname;
  await using dev = spawnProcess(runtimeCommand(currentRuntime(), CLI, ["dev", "--port", String(port)]), {
    cwd,
    env: { NATS_URL: undefined },
    name: "dev",
  });
  await dev.waitForLine("Switchyard dev is up", 30_000);
  const res = await fetch(`http://127.0.0.1:${port}/v1/hello/greet`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: '{"name":"World"}',
  });
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), { message: "Hello, World" });
  const counter = await fetch(`http://127.0.0.1:${port}/v1/counter/increment`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: '{"value":2}',
  });
  assert.deepEqual(await counter.json(), { count: 2, added: 2 });
  // On NATS's usual port (when it was free), `switchyard ls` finds the plugins with no --nats.
  if (dev.lines.some((l) => l.includes("embedded nats-server started") && l.includes("nats://127.0.0.1:4222"))) {
    await using ls = spawnProcess(runtimeCommand(currentRuntime(), CLI, ["ls"]), { cwd, env: { NATS_URL: undefined }, name: "ls" });
    assert.equal((await ls.exited).code, 0, ls.lines.join("\n"));
    for (const plugin of ["hello", "counter", "text"]) assert.ok(ls.lines.some((l) => l.includes(plugin)), ls.lines.join("\n"));
  }
  dev.kill("SIGINT");
  const status = await dev.exited;
  assert.equal(status.code, 0, dev.lines.slice(-20).join("\n"));
  assert.ok(dev.lines.some((l) => l.includes("router stopped")));
});

test("`switchyard dev` without nats-server says how to get it and exits non-zero", async () => {
  await using dev = spawnProcess(runtimeCommand(currentRuntime(), CLI, ["dev", "--port", "0"]), {
    env: { NATS_URL: undefined, NATS_SERVER_BIN: "/nonexistent/nats-server" },
    name: "dev",
  });
  const status = await dev.exited;
  assert.equal(status.code, 69);
  assert.ok(dev.lines.some((l) => /apt-get install nats-server/.test(l)), dev.lines.join("\n"));
});
