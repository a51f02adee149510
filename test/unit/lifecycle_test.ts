import { test } from "node:test";
import assert from "node:assert/strict";
import { InflightTracker, RouterLifecycle } from "../../src/router/mod.ts";
import { ShutdownSequence } from "../../src/cli/shutdown_sequence.ts";
import type { AbortableRequests, DrainProgress } from "../../src/router/mod.ts";
import type { PendingRequest } from "../../src/bus/mod.ts";
import { captureLogger, FakeClock } from "../../src/testing/mod.ts";

/** A stand-in for the request mux's abort surface: pending requests by tag, and blocks. */
function fakeRequests(): AbortableRequests & { pending: { tag: string; reject(err: Error): void }[]; blocked: Set<string | undefined> } {
  const pending: { tag: string; reject(err: Error): void }[] = [];
  const blocked = new Set<string | undefined>();
  return {
    pending,
    blocked,
    block: (tag) => void blocked.add(tag),
    unblock: (tag) => void blocked.delete(tag),
    failWhere(test: (p: PendingRequest) => boolean, error: (p: PendingRequest) => Error) {
      let n = 0;
      for (const p of [...pending]) {
        const view = { subject: `sy.${p.tag}.1_0_0.m`, tag: p.tag };
        if (!test(view)) continue;
        pending.splice(pending.indexOf(p), 1);
        p.reject(error(view));
        n++;
      }
      return n;
    },
  };
}

test("InflightTracker counts per plugin and in all, only for known names, and resolves whenIdle at zero", async () => {
  const tracker = new InflightTracker((name) => name === "a" || name === "b");
  assert.equal(tracker.traffic("nobody"), undefined);
  const a = tracker.traffic("a")!;
  const b = tracker.traffic("b")!;
  tracker.enter(a);
  tracker.enter(a);
  tracker.enter(b);
  assert.deepEqual(tracker.snapshot(), { total: 3, plugins: { a: { inFlight: 2, draining: false }, b: { inFlight: 1, draining: false } } });
  let aIdle = false;
  let allIdle = false;
  void tracker.whenIdle(a).then(() => aIdle = true);
  void tracker.whenIdle().then(() => allIdle = true);
  tracker.leave(a);
  await Promise.resolve();
  assert.equal(aIdle, false);
  tracker.leave(a);
  await Promise.resolve();
  assert.deepEqual([aIdle, allIdle], [true, false]);
  tracker.leave(b);
  await Promise.resolve();
  assert.equal(allIdle, true);
  assert.equal([...tracker.entries()].length, 2, "no entry for the unknown name");
});

test("RouterLifecycle.drainPlugin() waits for in-flight requests, reporting progress; the plugin stays drained until resumed", async () => {
  const clock = new FakeClock();
  const requests = fakeRequests();
  const lifecycle = new RouterLifecycle({ known: () => true, requests, drainTimeoutMs: () => 10_000, clock, logger: captureLogger() });
  const t = lifecycle.tracker.traffic("a")!;
  lifecycle.tracker.enter(t);
  lifecycle.tracker.enter(t);
  const progress: DrainProgress[] = [];
  const drain = lifecycle.drainPlugin("a", { onProgress: (p) => progress.push(p), progressIntervalMs: 100 });
  assert.equal(lifecycle.describe("a").draining, true);
  await clock.tickAsync(250);
  lifecycle.tracker.leave(t);
  lifecycle.tracker.leave(t);
  const result = await drain;
  assert.deepEqual({ ...result, elapsedMs: 0 }, { plugin: "a", drained: true, inflightAtStart: 2, aborted: 0, remaining: 0, elapsedMs: 0 });
  assert.deepEqual(progress.map((p) => p.inflight), [2, 2, 2, 0]);
  assert.equal(lifecycle.describe("a").draining, true, "still drained");
  assert.equal(lifecycle.resumePlugin("a"), true);
  assert.equal(lifecycle.resumePlugin("a"), false, "resumed once");
  const none = new RouterLifecycle({ known: () => false, requests, drainTimeoutMs: () => 10_000, clock });
  await assert.rejects(none.drainPlugin("nobody"), (err: { code?: string }) => err.code === "plugin_not_found");
});

test("RouterLifecycle.drainPlugin() at the timeout: without force reports what remains; with force blocks and aborts only that plugin's requests", async () => {
  const clock = new FakeClock();
  const requests = fakeRequests();
  const lifecycle = new RouterLifecycle({ known: () => true, requests, drainTimeoutMs: () => 1_000, clock });
  const a = lifecycle.tracker.traffic("a")!;
  const b = lifecycle.tracker.traffic("b")!;
  const rejected: string[] = [];
  for (const [t, tag] of [[a, "a"], [a, "a"], [b, "b"]] as const) {
    lifecycle.tracker.enter(t);
    requests.pending.push({ tag, reject: (err) => {
      rejected.push(`${tag}:${(err as { code?: string }).code}`);
      lifecycle.tracker.leave(t);
    } });
  }
  const soft = lifecycle.drainPlugin("a", {});
  await clock.tickAsync(1_000);
  assert.deepEqual(await soft.then((r) => [r.drained, r.remaining, r.aborted]), [false, 2, 0]);
  const forced = lifecycle.drainPlugin("a", { timeoutMs: 500, force: true });
  await clock.tickAsync(500);
  const result = await forced;
  assert.deepEqual([result.drained, result.remaining, result.aborted], [false, 0, 2]);
  assert.deepEqual(rejected, ["a:draining", "a:draining"]);
  assert.deepEqual([...requests.blocked], ["a"], "new sends of a fail at once");
  assert.equal(lifecycle.tracker.traffic("b")!.inflight, 1, "b untouched");
  lifecycle.resumePlugin("a");
  assert.deepEqual([...requests.blocked], []);
});

test("RouterLifecycle.shutdown() and gate(): new requests 503 draining with Connection: close, /health and /admin pass, the rest is aborted at the timeout", async () => {
  const clock = new FakeClock();
  const requests = fakeRequests();
  const lifecycle = new RouterLifecycle({ known: () => true, requests, drainTimeoutMs: () => 1_000, clock });
  const app = (req: Request) => new Response(`app ${new URL(req.url).pathname}`);
  const gate = lifecycle.gate(app);
  assert.equal(await (await gate(new Request("http://x/v1/a/m", { method: "POST" }))).text(), "app /v1/a/m");
  const t = lifecycle.tracker.traffic("a")!;
  lifecycle.tracker.enter(t);
  requests.pending.push({ tag: "a", reject: () => lifecycle.tracker.leave(t) });
  const shutdown = lifecycle.shutdown({ timeoutMs: 300 });
  assert.equal(lifecycle.shuttingDown, true);
  const refused = await gate(new Request("http://x/v1/a/m", { method: "POST", headers: { "x-request-id": "req-1" } }));
  assert.equal(refused.status, 503);
  assert.equal(refused.headers.get("connection"), "close");
  assert.equal(refused.headers.get("retry-after"), "1");
  assert.deepEqual(await refused.json(), { error: { code: "draining", message: "The router is shutting down", requestId: "req-1" } });
  assert.equal(await (await gate(new Request("http://x/health"))).text(), "app /health");
  assert.equal(await (await gate(new Request("http://x/admin/inflight"))).text(), "app /admin/inflight");
  await clock.tickAsync(300);
  const result = await shutdown;
  assert.deepEqual([result.plugin, result.drained, result.aborted, result.remaining], [undefined, false, 1, 0]);
  assert.deepEqual([...requests.blocked], [undefined], "every new send fails");
});

test("ShutdownSequence runs steps in order, places steps by name, and goes on past a failing step", async () => {
  const ran: string[] = [];
  const seq = new ShutdownSequence([
    { name: "intake", run: () => void ran.push("intake") },
    { name: "bus", run: () => void ran.push("bus") },
  ]);
  seq.add({ name: "spans", run: () => void ran.push("spans") }, { before: "bus" });
  seq.add({ name: "broken", run: () => Promise.reject(new Error("boom")) }, { after: "intake" });
  assert.deepEqual(seq.names(), ["intake", "broken", "spans", "bus"]);
  assert.throws(() => seq.add({ name: "bus", run: () => {} }), RangeError);
  assert.throws(() => seq.add({ name: "x", run: () => {} }, { before: "nope" }), /No shutdown step "nope"/);
  const logs = captureLogger();
  const report = await seq.run(logs);
  assert.deepEqual(ran, ["intake", "spans", "bus"]);
  assert.equal(report.failed, true);
  assert.deepEqual(report.steps.map((s) => [s.name, s.error]), [["intake", undefined], ["broken", "boom"], ["spans", undefined], ["bus", undefined]]);
  assert.ok(logs.entries.some((e) => e.level === "error" && e.attrs.step === "broken"));
});
