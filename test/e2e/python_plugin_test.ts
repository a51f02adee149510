/**
 * A plugin written in Python from docs/protocol.md alone (test/fixtures/python-words/plugin.py:
 * the standard library and the NATS text protocol over a socket) joins a real router, is listed
 * and served over HTTP with edge validation from its own schemas, passes the conformance checker
 * (its started event, a real call, the drain), and leaves the router's table when it drains.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { connect } from "@nats-io/transport-node";
import { checkConformance } from "../../src/conformance/mod.ts";
import type { ConformanceReport } from "../../src/conformance/mod.ts";
import { deferred, spawnProcess } from "../../src/testing/mod.ts";
import { startStack } from "./_stack.ts";

const PLUGIN = fileURLToPath(new URL("../fixtures/python-words/plugin.py", import.meta.url));
const python = spawnSync("python3", ["--version"]).status === 0;
const notPassed = (report: ConformanceReport) => report.results.filter((r) => r.status !== "pass").map((r) => `${r.id}: ${r.status} ${r.detail ?? ""}`);

test("a Python plugin written from protocol.md joins, serves over HTTP, conforms and drains", { skip: python ? false : "python3 is not installed" }, async () => {
  // Bodies up to 8 MiB: larger than one NATS message (1 MiB), so they go to the plugin in chunks.
  await using stack = await startStack([], { router: { bodyLimitBytes: 8 * 1024 * 1024 } });
  const nc = await connect({ servers: stack.nats.url });
  // The checker listens before the plugin starts, so its started event is checked too.
  const looked = deferred();
  nc.subscribe("$SRV.PING.pywords.py-1", {
    max: 1,
    callback: (_e, m) => {
      m.respond("{}");
      looked.resolve();
    },
  });
  const first = checkConformance(nc, { plugin: "pywords", instanceId: "py-1", waitMs: 30_000, timeoutMs: 5_000, call: { method: "count", input: { text: "one two three" } } });
  await looked.promise;
  await using proc = spawnProcess(["python3", PLUGIN, "--nats", stack.nats.url, "--instance-id", "py-1"], { name: "pywords" });
  try {
    const report = await first;
    assert.equal(report.ok, true, notPassed(report).join("\n"));
    assert.deepEqual(notPassed(report).map((l) => l.split(":")[0]), ["drain.draining", "drain.instance_subject", "drain.queue_group", "drain.stopped", "drain.gone"]);

    await stack.waitForInstances("pywords", 1);
    const ok = await stack.post("pywords/count", { text: "a b c" });
    assert.equal(ok.status, 200);
    assert.deepEqual(ok.body, { words: 3, chars: 5 });
    assert.equal(ok.headers.get("x-plugin-instance"), "py-1");
    assert.equal(ok.headers.get("x-plugin-version"), "1.0.0");
    const shout = await stack.post("pywords/shout", { text: "hi" });
    assert.deepEqual(shout.body, { text: "HI!" });
    // Edge validation from the schema the Python plugin declared: the plugin is not called.
    const invalid = await stack.post("pywords/count", { text: 5 });
    assert.equal(invalid.status, 422);
    assert.equal(invalid.body.error.code, "validation_failed");
    // A body larger than one message reaches it in chunks, announced or not (no Content-Length); the
    // router does not check such a body, the plugin does: over its maxLength, 422 from Python.
    const big = JSON.stringify({ text: "w ".repeat(1024 * 1024) });
    for (const body of [big, new Blob([big]).stream()]) {
      const res = await fetch(`${stack.url}/v1/pywords/count`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body,
        ...(typeof body === "string" ? {} : { duplex: "half" }),
      } as RequestInit);
      const answer = await res.json() as { error: { code: string; issues: { path: string }[] } };
      assert.equal(res.status, 422, JSON.stringify(answer));
      assert.equal(answer.error.code, "validation_failed");
      assert.deepEqual(answer.error.issues.map((i) => i.path), ["text"]);
    }
    const catalog = await (await fetch(`${stack.url}/v1/plugins/pywords`)).json() as { versions: { version: string; methods: { name: string; idempotent: boolean }[] }[] };
    assert.deepEqual(catalog.versions.map((v) => [v.version, v.methods.map((m) => [m.name, m.idempotent])]), [["1.0.0", [["count", true], ["shout", true]]]]);
    // Nothing about it that the router had to ignore or refuse.
    assert.deepEqual(stack.logs.entries.filter((e) => e.level === "warn" && e.attrs.plugin === "pywords"), []);

    const drained = await checkConformance(nc, { plugin: "pywords", instanceId: "py-1", timeoutMs: 5_000, drain: { prompt: () => proc.kill("SIGTERM"), timeoutMs: 30_000 } });
    assert.equal(drained.ok, true, notPassed(drained).join("\n"));
    for (const id of ["drain.draining", "drain.instance_subject", "drain.queue_group", "drain.stopped", "drain.gone", "events.format"]) {
      assert.equal(drained.results.find((r) => r.id === id)?.status, "pass", `${id}: ${notPassed(drained).join("\n")}`);
    }
    assert.equal((await proc.exited).code, 0);
    // Gone: callers get 503 plugin_unavailable at once, not a hang.
    const gone = await stack.post("pywords/count", { text: "a" });
    assert.equal(gone.status, 503);
    assert.equal(gone.body.error.code, "plugin_unavailable");
    assert.ok(gone.ms < 5_000, `answered in ${gone.ms} ms`);
  } finally {
    await nc.close();
  }
});
