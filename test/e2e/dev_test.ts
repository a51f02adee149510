import { test } from "node:test";
import assert from "node:assert/strict";
import { currentRuntime, runtimeCommand } from "../../src/runtime/mod.ts";
import { freePort, spawnProcess, waitFor } from "../../src/testing/mod.ts";
import { readFileSync } from "node:fs";
import type { ProcessHandle } from "../../src/testing/mod.ts";
import { CLI } from "./_stack.ts";

const ROOT = new URL("../..", import.meta.url).pathname;

test("`switchyard dev` starts nats-server, the router and the plugins; Ctrl-C stops all with exit 0", async () => {
  const port = await freePort();
  const cwd = ROOT;
  await using dev = spawnProcess(runtimeCommand(currentRuntime(), CLI, ["dev", "--port", String(port)]), {
    cwd,
    env: { NATS_URL: undefined },
    name: "dev",
  });
  await dev.waitForLine("Switchyard dev is up", 60_000);
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
    // `ls` stops listening 200 ms after the last reply: on a busy machine a slow instance can miss
    // one listing, so ask until one has all three.
    let listing: string[] = [];
    await waitFor(async () => {
      await using ls = spawnProcess(runtimeCommand(currentRuntime(), CLI, ["ls"]), { cwd, env: { NATS_URL: undefined }, name: "ls" });
      assert.equal((await ls.exited).code, 0, ls.lines.join("\n"));
      listing = [...ls.lines];
      return ["hello", "counter", "text"].every((plugin) => listing.some((l) => l.startsWith(`${plugin} `)));
    }, { timeoutMs: 60_000, intervalMs: 0, message: () => `ls to list hello, counter and text:\n${listing.join("\n")}` });
  }
  dev.kill("SIGINT");
  const status = await dev.exited;
  assert.equal(status.code, 0, dev.lines.slice(-20).join("\n"));
  assert.ok(dev.lines.some((l) => l.includes("router stopped")));
});

/** Runs `argv` in a process group of its own, as a terminal runs a foreground job, until "dev is up". */
async function startGroup(argv: string[], env: Record<string, string | undefined> = {}) {
  const proc = spawnProcess(argv, { cwd: ROOT, env: { NATS_URL: undefined, ...env }, name: argv.slice(0, 3).join(" "), detached: true });
  await proc.waitForLine("Switchyard dev is up", 60_000);
  const url = /router (http:\/\/\S+),/.exec(proc.lines.find((l) => l.includes("Switchyard dev is up"))!)![1]!;
  const res = await fetch(`${url}/v1/hello/greet`, { method: "POST", headers: { "content-type": "application/json" }, body: '{"name":"Ctrl-C"}' });
  assert.equal(res.status, 200);
  await res.arrayBuffer();
  return proc;
}

/** Ctrl-C as a terminal sends it: SIGINT to the whole process group. Returns the exit status and how long it took. */
async function ctrlC(proc: ProcessHandle) {
  const t0 = performance.now();
  process.kill(-proc.pid, "SIGINT");
  const status = await proc.exited;
  return { status, ms: performance.now() - t0 };
}

/** Whether process `pid` still runs (Linux: its /proc entry exists and it is not a zombie). */
function running(pid: number): boolean {
  try {
    return !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, "utf8"));
  } catch {
    return false;
  }
}

/** Every plugin drained cleanly, none was cut off by a lost NATS connection, and the embedded nats-server is gone. */
async function assertDrained(proc: ProcessHandle) {
  const out = proc.lines.join("\n");
  const nats = /embedded nats-server started\s+url=nats:\/\/127\.0\.0\.1:\d+\s+pid=(\d+)/.exec(out);
  assert.ok(nats !== null, out);
  // Stopped last, by dev itself: the process is gone once dev has exited. (Not its port: another
  // dev started meanwhile, by this suite on another runtime, may take NATS's usual port again.)
  await waitFor(() => !running(Number(nats[1])), { timeoutMs: 10_000, message: "the embedded nats-server to stop" });
  for (const plugin of ["hello", "counter", "text"]) {
    assert.match(out, new RegExp(`\\[${plugin}-[^\\]]+\\] .*drained .*aborted=false`), `${plugin} drained:\n${out}`);
  }
  assert.doesNotMatch(out, /did not drain cleanly|NATS disconnected|connection closed/i, out);
}

test("Ctrl-C to the process group of `switchyard dev`: nats-server outlives the drain, every plugin drains, exit 0", async () => {
  await using dev = await startGroup(runtimeCommand(currentRuntime(), CLI, ["dev", "--port", "0"]));
  const { status, ms } = await ctrlC(dev);
  console.log(`dev: exit ${status.code} ${ms.toFixed(0)} ms after SIGINT to its process group`);
  assert.deepEqual(status, { code: 0, signal: null }, dev.lines.slice(-30).join("\n"));
  await assertDrained(dev);
});

test("Ctrl-C to the process group of `npm run demo` (npm forwards the signal a second time): every plugin drains, exit 0", async () => {
  await using demo = await startGroup(["npm", "run", "--silent", "demo", "--", "--port", "0"], { SWITCHYARD_RUNTIME: currentRuntime() });
  const { status, ms } = await ctrlC(demo);
  console.log(`npm run demo: exit ${status.code ?? status.signal} ${ms.toFixed(0)} ms after SIGINT to its process group`);
  assert.deepEqual(status, { code: 0, signal: null }, demo.lines.slice(-30).join("\n"));
  await assertDrained(demo);
});

test("SIGHUP to `switchyard dev` (a closed terminal) stops it like Ctrl-C: nats-server does not outlive it", async () => {
  await using dev = await startGroup(runtimeCommand(currentRuntime(), CLI, ["dev", "--port", "0"]));
  process.kill(-dev.pid, "SIGHUP");
  assert.deepEqual(await dev.exited, { code: 0, signal: null }, dev.lines.slice(-30).join("\n"));
  await assertDrained(dev);
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
