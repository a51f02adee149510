// Runs once: the checker is a tool, not the router or the SDK; its verdicts on the raw fixture plugins do not depend on the runtime it runs on.
/**
 * The conformance checker against raw instances (test/e2e/_raw_plugin.ts, nats.js alone) that each
 * break one rule: each must fail exactly the rules it breaks, and a raw instance that breaks
 * nothing must conform. Also the `switchyard conformance` command itself: exit codes and JSON.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { connect } from "@nats-io/transport-node";
import type { NatsConnection } from "@nats-io/nats-core";
import { currentRuntime, runtimeCommand } from "../../src/runtime/mod.ts";
import { checkConformance, RULES } from "../../src/conformance/mod.ts";
import type { ConformanceOptions, ConformanceReport } from "../../src/conformance/mod.ts";
import { deferred, spawnProcess, startNatsServer } from "../../src/testing/mod.ts";
import type { NatsServer } from "../../src/testing/mod.ts";
import { CLI } from "./_stack.ts";
import { startRawPlugin } from "./_raw_plugin.ts";
import type { RawPluginOptions } from "./_raw_plugin.ts";

const TIMEOUT_MS = 5_000;
const failed = (report: ConformanceReport) => report.results.filter((r) => r.status === "fail").map((r) => r.id);
const detailOf = (report: ConformanceReport, id: string) => report.results.find((r) => r.id === id)?.detail ?? "";

/** Starts a raw instance named `name`, checks it, stops it. */
async function checkRaw(nats: NatsServer, nc: NatsConnection, name: string, knobs: RawPluginOptions, options: Partial<ConformanceOptions> = {}) {
  await using raw = await startRawPlugin(nats.url, { name, ...knobs });
  return await checkConformance(nc, { plugin: name, instanceId: raw.id, timeoutMs: TIMEOUT_MS, call: { method: "greet", input: { name: "Ada" } }, ...options });
}

test("checkConformance() fails a raw instance on exactly the rules it breaks, and passes one that breaks none", async () => {
  await using nats = await startNatsServer();
  const nc = await connect({ servers: nats.url });
  try {
    const good = await checkRaw(nats, nc, "rawgood", {});
    assert.deepEqual(failed(good), [], JSON.stringify(good.results, null, 1));
    assert.equal(good.ok, true);
    // Everything but the events and the drain was checked, not skipped.
    const skipped = good.results.filter((r) => r.status === "skip").map((r) => r.id);
    assert.deepEqual(skipped, ["events.started", "events.format", "drain.draining", "drain.instance_subject", "drain.queue_group", "drain.stopped", "drain.gone"]);
    for (const r of good.results) assert.match(r.section, /^docs\/protocol\.md#[a-z-]+$/);

    const subject = await checkRaw(nats, nc, "rawsubject", { metadata: { "sy.instance_subject": "sy.$i.rawsubject.someone-else" } });
    assert.deepEqual(failed(subject), ["meta.instance_subject", "meta.admitted"]);
    assert.equal(subject.ok, false);
    assert.match(detailOf(subject, "meta.instance_subject"), /"sy\.\$i\.rawsubject\.someone-else", not the derived "sy\.\$i\.rawsubject\.raw/);
    assert.match(detailOf(subject, "meta.admitted"), /a router refuses the instance: claims instance subject/);

    const anonymous = await checkRaw(nats, nc, "rawanon", { omitInstanceHeader: true });
    assert.deepEqual(failed(anonymous), ["reply.headers"]);
    assert.match(detailOf(anonymous, "reply.headers"), /sy-instance is missing/);

    const schemaless = await checkRaw(nats, nc, "rawschema", { endpointMetadata: { "sy.input_schema": "{not json" } });
    assert.deepEqual(failed(schemaless), ["meta.schemas"]);
    assert.match(detailOf(schemaless, "meta.schemas"), /endpoint "greet": sy\.input_schema is not JSON/);

    const unwell = await checkRaw(nats, nc, "rawhealth", { omitHealth: true });
    assert.deepEqual(failed(unwell), ["stats.health"]);

    const future = await checkRaw(nats, nc, "rawfuture", { metadata: { "sy.protocol": "2", "sy.weight": "0" } });
    assert.deepEqual(failed(future), ["meta.protocol", "meta.values", "meta.admitted"]);

    // Inputs in chunks are optional: an instance without them is warned about, and still conforms.
    const whole = await checkRaw(nats, nc, "rawwhole", { noInputChunks: true });
    assert.deepEqual(failed(whole), ["input.chunks", "input.unsized"]);
    assert.equal(whole.ok, true);
    assert.match(detailOf(whole, "input.chunks"), /was answered with an error instead of an acknowledgement: .*invalid_json/);
  } finally {
    await nc.close();
  }
});

test("checkConformance() sees an instance outside the queue group, and a drain that drops the instance subject", async () => {
  await using nats = await startNatsServer();
  const nc = await connect({ servers: nats.url });
  try {
    // Two instances of one version, one of them outside the queue group: each request gets two replies.
    await using loner = await startRawPlugin(nats.url, { name: "rawqueue", noQueueGroup: true });
    const queued = await checkRaw(nats, nc, "rawqueue", {});
    assert.deepEqual(failed(queued), ["request.queue_group"]);
    assert.match(detailOf(queued, "request.queue_group"), /2 replies to one request on sy\.rawqueue\.1_0_0\.greet/);
    await loner.stop();

    // A drain by the document passes; one that leaves the instance subject at once fails that rule.
    for (const [name, knobs, expected] of [["rawdrain", {}, []], ["rawhasty", { dropInstanceSubjectAtDrain: true }, ["drain.instance_subject"]]] as const) {
      await using raw = await startRawPlugin(nats.url, { name, ...knobs });
      const report = await checkConformance(nc, { plugin: name, instanceId: raw.id, timeoutMs: TIMEOUT_MS, drain: { prompt: () => void raw.stop(), timeoutMs: 20_000 } });
      assert.deepEqual(failed(report), expected, JSON.stringify(report.results, null, 1));
      for (const id of ["drain.draining", "drain.queue_group", "drain.stopped", "drain.gone", "events.format"]) {
        assert.equal(report.results.find((r) => r.id === id)?.status, "pass", id);
      }
    }
  } finally {
    await nc.close();
  }
});

test("checkConformance() waits for an instance, checks its started event, and fails when none comes", async () => {
  await using nats = await startNatsServer();
  const nc = await connect({ servers: nats.url });
  try {
    // The instance starts only once the checker has looked for it (and found nothing).
    const looked = deferred();
    nc.subscribe("$SRV.PING.rawlate", {
      max: 1,
      callback: (_e, m) => {
        m.respond("{}");
        looked.resolve();
      },
    });
    const pending = checkConformance(nc, { plugin: "rawlate", waitMs: 20_000, timeoutMs: TIMEOUT_MS });
    await looked.promise;
    await using _late = await startRawPlugin(nats.url, { name: "rawlate" });
    const report = await pending;
    assert.deepEqual(failed(report), []);
    assert.equal(report.results.find((r) => r.id === "events.started")?.status, "pass");
    assert.equal(report.results.find((r) => r.id === "events.format")?.status, "pass");

    const none = await checkConformance(nc, { plugin: "nobody", timeoutMs: 500 });
    assert.deepEqual(failed(none), ["instance.found"]);
    assert.equal(none.ok, false);
    assert.equal(none.skipped, Object.keys(RULES).length - 1);
  } finally {
    await nc.close();
  }
});

test("switchyard conformance exits 0 for a conforming instance, 1 naming the broken rules, 2 on bad arguments", async () => {
  await using nats = await startNatsServer();
  await using good = await startRawPlugin(nats.url, { name: "cligood" });
  await using bad = await startRawPlugin(nats.url, { name: "clibad", omitInstanceHeader: true });
  const run = async (args: string[]) => {
    await using proc = spawnProcess(runtimeCommand(currentRuntime(), CLI, ["conformance", ...args]), { name: "switchyard conformance" });
    const status = await proc.exited;
    return { code: status.code, out: proc.lines.join("\n") };
  };
  const [ok, broken, json, usage, badInput] = await Promise.all([
    run(["cligood", "--nats", nats.url, "--instance", good.id, "--call", "greet", "--input", '{"name":"Ada"}']),
    run(["clibad", "--nats", nats.url]),
    run(["clibad", "--nats", nats.url, "--json"]),
    run(["NotAPlugin", "--nats", nats.url]),
    run(["cligood", "--input", "{}", "--nats", nats.url]),
  ]);
  assert.equal(ok.code, 0, ok.out);
  assert.match(ok.out, /^ {2}PASS {2}reply\.success /m);
  assert.match(ok.out, /^CONFORMS: \d+ passed, 0 failed/m);
  assert.equal(broken.code, 1, broken.out);
  assert.match(broken.out, new RegExp(`clibad 1\\.0\\.0, instance ${bad.id}`));
  assert.match(broken.out, /^ {2}FAIL {2}reply\.headers .*\n.*sy-instance is missing.*\n.*see docs\/protocol\.md#replies/m);
  assert.match(broken.out, /^DOES NOT CONFORM: /m);
  assert.equal(json.code, 1);
  const report = JSON.parse(json.out) as ConformanceReport;
  assert.equal(report.ok, false);
  assert.deepEqual(failed(report), ["reply.headers"]);
  assert.equal(usage.code, 2);
  assert.match(usage.out, /Name a plugin/);
  assert.equal(badInput.code, 2);
  assert.match(badInput.out, /--input goes with --call/);
});
