import { test } from "node:test";
import assert from "node:assert/strict";
import { currentRuntime, runtimeCommand, RUNTIMES } from "../../src/runtime/mod.ts";
import { spawnProcess, startNatsServer, waitFor } from "../../src/testing/mod.ts";
import { CLI, pluginPath, startPlugin } from "./_stack.ts";
import { startRouterProcess } from "./_router_process.ts";

test("one instance on each runtime serves through one router, and `switchyard ls` lists all three", async () => {
  await using nats = await startNatsServer();
  const plugins = await Promise.all(
    RUNTIMES.map((runtime) => startPlugin(pluginPath("hello"), nats.url, { runtime, instanceId: `hello-on-${runtime}` })),
  );
  try {
    await using router = await startRouterProcess(nats.url);
    const readyAt = performance.now();
    const first = await fetch(`${router.url}/v1/hello/greet`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: '{"name":"World"}',
    });
    assert.equal(first.status, 200);
    assert.deepEqual(await first.json(), { message: "Hello, World" });
    // 200 proves discovery ran before "router ready"; the bound only rules out a wait for a poll.
    assert.ok(performance.now() - readyAt < 5_000, "the first call is answered at once after 'router ready'");

    const seen = new Set<string>();
    await waitFor(async () => {
      const res = await fetch(`${router.url}/v1/hello/greet`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: '{"name":"x"}',
      });
      assert.equal(res.status, 200);
      seen.add(res.headers.get("x-plugin-instance") ?? "");
      return seen.size === 3;
    }, { timeoutMs: 30_000, intervalMs: 0, message: "every runtime's instance to serve" });
    assert.deepEqual([...seen].sort(), ["hello-on-bun", "hello-on-deno", "hello-on-node"]);

    // `ls` collects INFO replies until none came for 200 ms: on a busy machine a slow instance may
    // answer later than that, so ask until one listing has all three.
    let listing: string[] = [];
    await waitFor(async () => {
      await using ls = spawnProcess(runtimeCommand(currentRuntime(), CLI, ["ls", "--nats", nats.url]), { name: "ls" });
      assert.equal((await ls.exited).code, 0);
      listing = [...ls.lines];
      return RUNTIMES.every((runtime) => listing.some((l) => l.includes(`hello-on-${runtime}`)));
    }, { timeoutMs: 60_000, intervalMs: 0, message: () => `ls to list every runtime's instance:\n${listing.join("\n")}` });
    for (const runtime of RUNTIMES) {
      const row = listing.find((l) => l.includes(`hello-on-${runtime}`))!;
      assert.match(row, new RegExp(`^hello\\s+1\\.2\\.0\\s+hello-on-${runtime}\\s+${runtime}\\s`));
    }
  } finally {
    await Promise.all(plugins.map((p) => p.stop(5_000)));
  }
});
