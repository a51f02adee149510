// Runs once: it serves the example plugins on deno, bun and node itself.
/**
 * The example plugins (plugins/hello, counter, text), each served by `switchyard plugin` on Deno,
 * Bun and Node, pass the conformance checker: every rule it can check without stopping them, a
 * success call each, and the whole drain sequence of one plugin per runtime.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { connect } from "@nats-io/transport-node";
import { RUNTIMES } from "../../src/runtime/mod.ts";
import { checkConformance } from "../../src/conformance/mod.ts";
import type { ConformanceReport, SampleCall } from "../../src/conformance/mod.ts";
import { startNatsServer } from "../../src/testing/mod.ts";
import type { ProcessHandle } from "../../src/testing/mod.ts";
import { pluginPath, startPlugin } from "./_stack.ts";

/** A call per plugin that changes nothing. */
const SAMPLES: Readonly<Record<string, SampleCall>> = {
  hello: { method: "greet", input: { name: "Ada" } },
  counter: { method: "get", input: {} },
  text: { method: "upper", input: { text: "abc" } },
};
const TIMEOUT_MS = 5_000;
const notPassed = (report: ConformanceReport) => report.results.filter((r) => r.status !== "pass").map((r) => `${r.id}: ${r.status} ${r.detail ?? ""}`);

test("the example plugins conform on deno, bun and node, drain included", async () => {
  await using nats = await startNatsServer();
  const nc = await connect({ servers: nats.url });
  const procs = new Map<string, ProcessHandle>();
  try {
    // One runtime at a time: three plugin processes start at once on a shared machine.
    for (const runtime of RUNTIMES) {
      await Promise.all(Object.keys(SAMPLES).map(async (plugin) => {
        const id = `${plugin}-${runtime}`;
        procs.set(id, await startPlugin(pluginPath(plugin), nats.url, { runtime, instanceId: id }));
      }));
    }
    for (const runtime of RUNTIMES) {
      for (const [plugin, call] of Object.entries(SAMPLES)) {
        const report = await checkConformance(nc, { plugin, instanceId: `${plugin}-${runtime}`, call, timeoutMs: TIMEOUT_MS });
        assert.equal(report.ok, true, `${plugin} on ${runtime}: ${notPassed(report).join("\n")}`);
        assert.equal(report.version !== undefined && report.instance === `${plugin}-${runtime}`, true);
        // Only what needs a start or a stop is left unchecked.
        assert.deepEqual(notPassed(report).map((line) => line.split(":")[0]), [
          "events.started",
          "events.format",
          "drain.draining",
          "drain.instance_subject",
          "drain.queue_group",
          "drain.stopped",
          "drain.gone",
        ], `${plugin} on ${runtime}`);
      }
    }
    // The drain, once per runtime; the other runtimes' text instances share its queue group.
    for (const runtime of RUNTIMES) {
      const proc = procs.get(`text-${runtime}`)!;
      const report = await checkConformance(nc, {
        plugin: "text",
        instanceId: `text-${runtime}`,
        timeoutMs: TIMEOUT_MS,
        drain: { prompt: () => proc.kill("SIGTERM"), timeoutMs: 30_000 },
      });
      assert.equal(report.ok, true, `text on ${runtime}: ${notPassed(report).join("\n")}`);
      for (const id of ["drain.draining", "drain.instance_subject", "drain.queue_group", "drain.stopped", "drain.gone", "events.format"]) {
        assert.equal(report.results.find((r) => r.id === id)?.status, "pass", `${id} on ${runtime}: ${notPassed(report).join("\n")}`);
      }
      assert.equal((await proc.exited).code, 0);
    }
  } finally {
    await Promise.all([...procs.values()].map((p) => p.stop(5_000)));
    await nc.close();
  }
});
