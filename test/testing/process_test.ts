import { test } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:net";
import { freePort, spawnProcess } from "../../src/testing/mod.ts";

test("spawnProcess().waitForLine() matches stdout and stderr lines by string or RegExp", async () => {
  await using proc = spawnProcess(["sh", "-c", "echo one; echo 'port=4222' >&2; echo three; exec sleep 60"]);
  assert.equal(await proc.waitForLine(/port=\d+/, 5000), "port=4222");
  assert.equal(await proc.waitForLine("thr", 5000), "three");
  assert.ok(proc.lines.includes("one"));
  assert.equal(typeof proc.pid, "number");
  assert.equal(proc.exitStatus, undefined);
});

test("spawnProcess() passes env and cwd and reports the exit code", async () => {
  const proc = spawnProcess(["sh", "-c", 'echo "$SY_GREETING from $(pwd)"; exit 3'], {
    env: { SY_GREETING: "hello" },
    cwd: "/",
  });
  assert.deepEqual(await proc.exited, { code: 3, signal: null });
  assert.equal(await proc.waitForLine("hello", 5000), "hello from /");
});

test("ProcessHandle.waitForLine() rejects on early exit with the last lines", async () => {
  const proc = spawnProcess(["sh", "-c", "echo about to fail; exit 1"], { name: "failing" });
  await assert.rejects(proc.waitForLine("never printed", 5000), (err: Error) => {
    assert.match(err.message, /^failing \(pid \d+\): no line matching never printed/);
    assert.match(err.message, /about to fail/);
    return true;
  });
  assert.equal((await proc.exited).code, 1);
});

test("ProcessHandle.waitForLine() rejects on timeout", async () => {
  await using proc = spawnProcess(["sh", "-c", "echo quiet; exec sleep 60"]);
  await proc.waitForLine("quiet", 5000);
  await assert.rejects(proc.waitForLine("loud", 30), /timed out after 30 ms\. Last lines:\nquiet/);
});

test("ProcessHandle.stop() ends a process with SIGTERM", async () => {
  const proc = spawnProcess(["sh", "-c", "echo up; exec sleep 60"]);
  await proc.waitForLine("up", 5000);
  assert.deepEqual(await proc.stop(5000), { code: null, signal: "SIGTERM" });
  assert.equal(proc.kill(), false);
});

test("ProcessHandle.stop() reports the exit code of a process that handles SIGTERM", async () => {
  const proc = spawnProcess([
    "sh",
    "-c",
    "trap 'echo bye; exit 7' TERM; echo up; while :; do sleep 0.05; done",
  ]);
  await proc.waitForLine("up", 5000);
  assert.deepEqual(await proc.stop(5000), { code: 7, signal: null });
  assert.equal(await proc.waitForLine("bye", 5000), "bye");
});

test("ProcessHandle.stop() escalates to SIGKILL when SIGTERM is ignored", async () => {
  // An ignored signal stays ignored across exec, so `sleep` itself ignores SIGTERM.
  const proc = spawnProcess(["sh", "-c", "trap '' TERM; echo trapped; exec sleep 60"]);
  await proc.waitForLine("trapped", 5000);
  assert.deepEqual(await proc.stop(100), { code: null, signal: "SIGKILL" });
});

test("spawnProcess() disposes with await using", async () => {
  let exited: Promise<unknown> | undefined;
  {
    await using proc = spawnProcess(["sh", "-c", "echo up; exec sleep 60"]);
    exited = proc.exited;
    await proc.waitForLine("up", 5000);
  }
  assert.deepEqual(await exited, { code: null, signal: "SIGTERM" });
});

test("spawnProcess() throws when the executable does not exist", () => {
  assert.throws(
    () => spawnProcess(["/nonexistent/switchyard-nope"]),
    /Cannot start .*not found or is not executable/,
  );
  assert.throws(() => spawnProcess([]), TypeError);
});

test("freePort() returns a port that can be bound", async () => {
  const port = await freePort();
  assert.ok(port > 0 && port < 65536);
  const server = createServer();
  await new Promise<void>((resolve, reject) =>
    server.once("error", reject).listen(port, "127.0.0.1", resolve)
  );
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

test("ProcessHandle.closed resolves with the exit status once every output line is in", async () => {
  const proc = spawnProcess(["sh", "-c", 'for i in 1 2 3 4 5; do echo "line $i"; done; echo done >&2; exit 4']);
  assert.deepEqual(await proc.closed, { code: 4, signal: null });
  // stdout and stderr may interleave either way.
  assert.deepEqual([...proc.lines].sort(), ["done", "line 1", "line 2", "line 3", "line 4", "line 5"]);
});

test("spawnProcess({ detached: true }) makes the child the leader of a process group of its own", async () => {
  await using proc = spawnProcess(["sh", "-c", "echo ready; exec sleep 60"], { detached: true });
  await proc.waitForLine("ready", 10_000);
  // Its own group: the group id is its pid, so the whole group can be signalled, as a terminal does.
  process.kill(-proc.pid, "SIGTERM");
  assert.equal((await proc.exited).signal, "SIGTERM");
});
