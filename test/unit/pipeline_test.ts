/**
 * The request pipeline's send step, driven as the router and `ctx.call` drive it: over a real
 * nats-server, with responders subscribed where instances listen, and registry entries admitted
 * from INFO as discovery admits them.
 */
import { after, test } from "node:test";
import assert from "node:assert/strict";
import * as v from "valibot";
import type { Msg, NatsConnection } from "@nats-io/nats-core";
import { connectBus, DisconnectedError, encodeWireError, H_INSTANCE, INFO_RESPONSE, isBusError, META_PROTOCOL, RequestLostError, RequestMux, versionSubjectBase, WireHeaders } from "../../src/bus/mod.ts";
import type { InfoResponse } from "../../src/bus/mod.ts";
import { codeOf, ErrorCode } from "../../src/errors.ts";
import { ConfigSchema, pipelineSettings, resolveConfig } from "../../src/config/mod.ts";
import type { Config } from "../../src/config/mod.ts";
import { RequestPipeline } from "../../src/pipeline/mod.ts";
import type { CallObserver } from "../../src/pipeline/mod.ts";
import { Registry } from "../../src/registry/mod.ts";
import type { InstanceEntry } from "../../src/registry/mod.ts";
import { ResiliencePolicies, ResilienceSchema, RetryBudget, RetryPolicy } from "../../src/resilience/mod.ts";
import { systemClock } from "../../src/deps.ts";
import { captureLogger, FakeClock, startNatsServer, waitFor } from "../../src/testing/mod.ts";
import type { NatsServer } from "../../src/testing/mod.ts";
import { seeded } from "./_balancer_contract.ts";

const encoder = new TextEncoder();
/** What a responder does with its n-th request (0-based). */
type Answer = "ok" | "hold" | { status: number; code: string };

interface Fixture extends AsyncDisposable {
  pipeline: RequestPipeline;
  registry: Registry;
  nc: NatsConnection;
  /** This fixture's own plugin name. */
  plugin: string;
  /** Requests each instance received. */
  calls: Map<string, number>;
  /** Requests held by "hold" answers, to answer later. */
  held: Msg[];
  /** Adds an instance of plugin `p`: subscribed (unless `dead`) and admitted to the registry. */
  instance(id: string, answer: (n: number) => Answer, options?: { version?: string; dead?: boolean }): InstanceEntry;
  /** Sends `<plugin>.m` as the router would. */
  send(options?: { mayRetry?: boolean; deadlineMs?: number; range?: string; observer?: CallObserver }): Promise<{ status: number; code: string; instance: string }>;
}

/** Shared across the tests of this file: each test has its own connection, plugin name and pipeline. */
let server: NatsServer | undefined;
after(() => server?.stop());

async function fixture(config: Config = {}): Promise<Fixture> {
  server ??= await startNatsServer();
  const nc = await connectBus({ servers: [server.url] });
  const registry = new Registry("sy");
  const mux = new RequestMux(nc);
  const logger = captureLogger();
  // Each fixture gets its own plugin name: tests never see each other's subscriptions.
  const plugin = `p${Math.random().toString(36).slice(2, 10)}`;
  const pipeline = new RequestPipeline({ registry, mux, settings: pipelineSettings(resolveConfig({ ...config, plugins: { [plugin]: config.plugins?.p ?? {} } }, {})), clock: systemClock, logger, random: seeded(7) });
  const calls = new Map<string, number>();
  const held: Msg[] = [];
  const f: Fixture = {
    pipeline,
    registry,
    nc,
    plugin,
    calls,
    held,
    instance(id, answer, options = {}) {
      const version = options.version ?? "1.0.0";
      const respond = (msg: Msg) => {
        const n = calls.get(id) ?? 0;
        calls.set(id, n + 1);
        const a = answer(n);
        const headers = new WireHeaders();
        headers.set(H_INSTANCE, id);
        if (a === "hold") held.push(msg);
        else if (a === "ok") msg.respond(encoder.encode('{"ok":true}'), { headers });
        else {
          const e = encodeWireError({ ...a, message: a.code }, headers);
          msg.respond(e.data, { headers: e.headers });
        }
      };
      if (options.dead !== true) {
        nc.subscribe(`sy.$i.${plugin}.${id}.m`, { callback: (_e, msg) => respond(msg) });
        nc.subscribe(`${versionSubjectBase("sy", plugin, version)}.m`, { queue: `${plugin}@${version}`, callback: (_e, msg) => respond(msg) });
      }
      const admitted = registry.admit(info(plugin, version, id), systemClock.now());
      assert.ok(admitted !== undefined && !("reason" in admitted));
      return admitted;
    },
    async send(options = {}) {
      await nc.flush();
      const target = pipeline.resolve(plugin, "m", options.range);
      const reply = await pipeline.send(target, {
        data: encoder.encode("{}"),
        headers: new WireHeaders(),
        deadline: Date.now() + (options.deadlineMs ?? 5_000),
        mayRetry: options.mayRetry ?? false,
        observer: options.observer,
      });
      return { status: reply.status, code: reply.code, instance: reply.headers?.get(H_INSTANCE) ?? "" };
    },
    async [Symbol.asyncDispose]() {
      mux.close();
      await nc.close();
    },
  };
  return f;
}

function info(name: string, version: string, id: string): InfoResponse {
  return {
    type: INFO_RESPONSE,
    name,
    id,
    version,
    description: "",
    metadata: { [META_PROTOCOL]: "1" },
    endpoints: [{ name: "m", subject: `${versionSubjectBase("sy", name, version)}.m`, queue_group: `${name}@${version}`, metadata: {} }],
  };
}

const always = (a: Answer) => () => a;
const unavailable = { status: 503, code: "unavailable" };
const broken = { status: 500, code: "plugin_error" };
const noDelay = { retry: { baseDelayMs: 0 } };

test("send(): a non-idempotent call is sent once; an idempotent one maxAttempts times on a 503 reply", async () => {
  await using f = await fixture({ resilience: noDelay });
  f.instance("a", always(unavailable));
  assert.equal((await f.send({ mayRetry: false })).status, 503);
  assert.equal(f.calls.get("a"), 1);
  assert.equal((await f.send({ mayRetry: true })).status, 503);
  assert.equal(f.calls.get("a"), 4, "3 more attempts");
});

test("send(): a later attempt's success is returned; a 4xx or a 502 is never retried", async () => {
  await using f = await fixture({ resilience: noDelay });
  f.instance("a", (n) => (n === 0 ? unavailable : n < 3 ? "ok" : n === 3 ? { status: 418, code: "teapot" } : broken));
  assert.deepEqual(await f.send({ mayRetry: true }), { status: 0, code: "", instance: "a" });
  assert.equal(f.calls.get("a"), 2);
  await f.send({ mayRetry: true });
  assert.equal((await f.send({ mayRetry: true })).code, "teapot");
  assert.equal((await f.send({ mayRetry: true })).status, 500);
  assert.equal(f.calls.get("a"), 5, "the 418 and the 500 were sent once each");
});

test("send(): with one instance, 5 failures open the breaker, then circuit_open without a send; 4xx never count", async () => {
  await using f = await fixture({ resilience: { retry: { maxAttempts: 1 } } });
  f.instance("a", (n) => (n < 10 ? { status: 422, code: "validation_failed" } : broken));
  for (let i = 0; i < 10; i++) assert.equal((await f.send()).status, 422);
  for (let i = 0; i < 5; i++) assert.equal((await f.send()).status, 500);
  await assert.rejects(f.send(), (err: { code: string; retryAfter: number }) => err.code === "circuit_open" && err.retryAfter >= 1);
  assert.equal(f.calls.get("a"), 15, "exactly the threshold reached the plugin");
});

test("send(): an instance failing among healthy ones is ejected and never opens the plugin's breaker", async () => {
  await using f = await fixture();
  const bad = f.instance("bad", always(broken));
  f.instance("good1", always("ok"));
  f.instance("good2", always("ok"));
  let failed = 0;
  for (let i = 0; i < 200; i++) if ((await f.send()).status !== 0) failed++;
  const plugin = bad.plugin;
  assert.equal(f.pipeline.policies.plugin(plugin).breaker!.state, "closed");
  assert.ok(bad.ejectedUntil > Date.now(), "the failing instance is ejected");
  assert.ok(failed <= 5, `${failed} failures: at most the ejection threshold`);
});

test("send(): an instance failing fast while its peers' first answers are on their way is ejected, and the plugin's breaker stays closed", async () => {
  await using f = await fixture({ resilience: { retry: { maxAttempts: 1 } }, balancing: { balancer: "round-robin" } });
  const bad = f.instance("bad", always(broken));
  f.instance("good1", always("hold"));
  f.instance("good2", always("hold"));
  const sends = Array.from({ length: 24 }, () => f.send());
  await waitFor(() => (f.calls.get("bad") ?? 0) + f.held.length === 24, { message: "every request reached an instance" });
  const failedFast = f.calls.get("bad")!;
  assert.ok(failedFast >= 5, `${failedFast} failures: enough to open the breaker had they counted`);
  for (const msg of f.held) msg.respond(encoder.encode('{"ok":true}'));
  const outcomes = await Promise.allSettled(sends);
  assert.ok(bad.ejectedUntil > Date.now(), "the failing instance is ejected");
  assert.equal(f.pipeline.policies.plugin(bad.plugin).breaker!.state, "closed", "no peer had answered yet, but both were answering");
  assert.equal(outcomes.filter((o) => o.status === "fulfilled" && o.value.status === 0).length, 24 - failedFast);
});

test("send(): when every instance fails, the breaker opens", async () => {
  await using f = await fixture({ resilience: { retry: { maxAttempts: 1 } } });
  for (const id of ["a", "b", "c"]) f.instance(id, always(broken));
  let sent = 0;
  let open = false;
  for (let i = 0; i < 20 && !open; i++) {
    try {
      await f.send();
      sent++;
    } catch (err) {
      open = (err as { code: string }).code === "circuit_open";
    }
  }
  assert.ok(open, "circuit_open");
  assert.equal(sent, 5, "no instance answered well: every failure counts, as with one instance");
});

test("send(): no responders on an instance's subject ejects it and resends elsewhere; the breaker does not count it", async () => {
  await using f = await fixture({ resilience: { retry: { maxAttempts: 1 } } });
  const dead = f.instance("dead", always("ok"), { dead: true });
  f.instance("live", always("ok"));
  const ids = new Set<string>();
  for (let i = 0; i < 10; i++) ids.add((await f.send()).instance);
  assert.deepEqual([...ids], ["live"]);
  assert.ok(dead.ejectedUntil > Date.now());
  assert.equal(f.pipeline.policies.plugin(dead.plugin).breaker!.state, "closed");
});

test("instanceGone(): requests waiting on the instance fail at once as lost; an idempotent one is retried elsewhere", async () => {
  await using f = await fixture({ resilience: noDelay, balancing: { balancer: "round-robin" } });
  const slow = f.instance("slow", always("hold"));
  f.instance("fast", always("ok"));
  const first = f.send({ mayRetry: false });
  first.catch(() => {});
  await waitFor(() => f.held.length === 1, { message: "the first request reached the holding instance" });
  const second = f.send({ mayRetry: true });
  await waitFor(() => (f.calls.get("fast") ?? 0) + f.held.length >= 2, { message: "the second request was sent" });
  const third = f.send({ mayRetry: true });
  await waitFor(() => f.held.length === 2, { message: "round-robin sent the third to the holding instance" });
  assert.equal(f.pipeline.instanceGone(slow, "it died"), 2);
  await assert.rejects(first, (err) => isBusError(err) && err.failure === "lost");
  assert.equal((await second).instance, "fast");
  assert.equal((await third).instance, "fast", "retried on the other instance");
  assert.equal(f.pipeline.policies.plugin(slow.plugin).breaker!.state, "closed");
});

test("send(): requests failed by this side's own connection drop are retried beyond the retry budget; those lost with their instance are not", async () => {
  for (const drop of ["disconnected", "lost"] as const) {
    await using f = await fixture({ resilience: noDelay });
    f.instance("a", (n) => (n < 16 ? "hold" : "ok"));
    const sends = Array.from({ length: 16 }, () => f.send({ mayRetry: true }));
    await waitFor(() => f.held.length === 16, { message: "16 requests held" });
    const why = (subject: string) => drop === "disconnected" ? new DisconnectedError(subject, "the NATS connection dropped") : new RequestLostError(subject, "it died");
    assert.equal(f.pipeline.mux.failWhere(() => true, (p) => why(p.subject)), 16);
    const outcomes = await Promise.allSettled(sends);
    const ok = outcomes.filter((o) => o.status === "fulfilled" && o.value.status === 0).length;
    if (drop === "disconnected") assert.equal(ok, 16, "every one retried");
    else assert.ok(ok < 16, `the budget retried ${ok} of 16`);
  }
});

test("send(): when a version's last instance is gone, an unpinned request goes to another version; a pinned one fails", async () => {
  {
    await using f = await fixture({ resilience: { retry: { maxAttempts: 1 } } });
    f.instance("old", always("ok"), { version: "1.0.0" });
    f.instance("new", always("ok"), { version: "2.0.0", dead: true });
    assert.equal((await f.send()).instance, "old", "2.0.0 is picked first, and nobody answers there");
    assert.throws(() => f.pipeline.resolve(f.plugin, "m", "^2"), (err) => codeOf(err) === ErrorCode.NoMatchingVersion, "2.0.0 left with its instance");
  }
  {
    await using f = await fixture({ resilience: { retry: { maxAttempts: 1 } } });
    f.instance("old", always("ok"), { version: "1.0.0" });
    f.instance("new", always("ok"), { version: "2.0.0", dead: true });
    await assert.rejects(f.send({ range: "^2" }), (err) => isBusError(err) && err.failure === "no_responders");
    assert.equal(f.calls.get("old"), undefined, "a pinned request never goes to another version");
  }
});

test("resolveArriving(): with no instance available it waits for announced instances being proven, then routes to them; with none arriving it throws at once", async () => {
  await using f = await fixture();
  f.instance("old", always("ok"));
  f.registry.markDraining(f.plugin, "old"); // the old version says it drains...
  const thrown = (fn: () => unknown) => {
    try {
      fn();
    } catch (err) {
      return codeOf(err);
    }
    return "none";
  };
  assert.equal(thrown(() => f.pipeline.resolveArriving(f.plugin, "m", undefined)), ErrorCode.PluginUnavailable, "nothing arriving: at once");
  // ...while the new one, announced, is being proven.
  let admit!: () => void;
  f.registry.arriving(f.plugin, new Promise<void>((resolve) => admit = () => (f.instance("new", always("ok"), { version: "2.0.0" }), resolve())));
  const waiting = f.pipeline.resolveArriving(f.plugin, "m", undefined);
  assert.ok(waiting instanceof Promise, "it waits");
  admit();
  assert.equal((await waiting).version.version, "2.0.0");
  assert.equal(f.registry.arrivals(f.plugin), undefined, "the settled proof is forgotten");
  // A proof that admits nothing: the request fails once it settles.
  f.registry.markDraining(f.plugin, "new");
  let refuse!: () => void;
  f.registry.arriving(f.plugin, new Promise<void>((resolve) => refuse = resolve));
  const failing = f.pipeline.resolveArriving(f.plugin, "m", undefined);
  refuse();
  await assert.rejects(Promise.resolve(failing), (err) => codeOf(err) === ErrorCode.PluginUnavailable);
});

test("send(): retries stop at the deadline", async () => {
  await using f = await fixture({ resilience: noDelay });
  f.instance("a", always("hold"));
  await assert.rejects(f.send({ mayRetry: true, deadlineMs: 300 }), (err) => isBusError(err) && err.failure === "timeout");
  assert.equal(f.calls.get("a"), 1, "no time was left for another attempt");
});

test("send(): the observer hears each attempt, each retry, and why a retry was refused", async () => {
  await using f = await fixture({ resilience: noDelay });
  f.instance("a", always(unavailable));
  const events: string[] = [];
  const observer: CallObserver = {
    startAttempt: () => events.push("start"),
    endAttempt: (_h, reply) => void events.push(`end ${reply?.status}`),
    picked: (instance) => void events.push(`picked ${instance}`),
    retrying: (attempt, _d, reason) => void events.push(`retry ${attempt} ${reason}`),
    retryRefused: (reason) => void events.push(`refused ${reason}`),
  };
  await f.send({ mayRetry: true, observer });
  assert.deepEqual(events, ["start", "picked a", "end 503", "retry 2 unavailable", "start", "picked a", "end 503", "retry 3 unavailable", "start", "picked a", "end 503"]);
  // With the budget spent elsewhere, a retryable failure is answered as is.
  events.length = 0;
  const budget = f.pipeline.policies.plugin(f.registry.plugins().next().value!.name).budget;
  let taken = 0;
  while (budget.tryAcquire()) taken++;
  await f.send({ mayRetry: true, observer });
  for (let i = 0; i < taken; i++) budget.release();
  assert.deepEqual(events, ["start", "picked a", "end 503", "refused budget"]);
});

test("send(): a full bulkhead answers overloaded without a send; a method's own breaker is separate", async () => {
  await using f = await fixture({ plugins: { p: { bulkhead: { maxConcurrent: 1 }, methods: { m: { breaker: { consecutiveFailures: 1 } } } } } });
  f.instance("a", (n) => (n === 0 ? "hold" : broken));
  const first = f.send();
  await waitFor(() => f.held.length === 1, { message: "one call holds the only slot" });
  await assert.rejects(f.send(), { code: "overloaded" });
  assert.equal(f.calls.get("a"), 1);
  f.held[0]!.respond(encoder.encode("{}"));
  await first;
  assert.equal((await f.send()).status, 500);
  const policies = f.pipeline.policies.plugin(f.registry.plugins().next().value!.name);
  assert.equal(policies.method("m").breaker!.state, "open");
  assert.equal(policies.breaker!.state, "closed", "the plugin's own breaker is another one");
});

test("send(): an open circuit answers the configured fallback with 200", async () => {
  await using f = await fixture({ plugins: { p: { breaker: { consecutiveFailures: 1 }, methods: { m: { fallback: { items: [] } } } } } });
  f.instance("a", always(broken));
  assert.equal((await f.send()).status, 500);
  const target = f.pipeline.resolve(f.registry.plugins().next().value!.name, "m", undefined);
  const reply = await f.pipeline.send(target, { data: new Uint8Array(0), headers: new WireHeaders(), deadline: Date.now() + 1_000, mayRetry: false });
  assert.equal(reply.fallback, true);
  assert.equal(new TextDecoder().decode(reply.data), '{"items":[]}');
  assert.equal(f.calls.get("a"), 1);
});

test("RetryPolicy.delayMs(): exponential backoff with full jitter, capped at maxDelayMs", () => {
  const settings = { maxAttempts: 3, baseDelayMs: 100, maxDelayMs: 250 };
  const budget = new RetryBudget({ budgetRatio: 0.2, budgetMinConcurrent: 3 }, new FakeClock());
  assert.deepEqual([1, 2, 3, 4].map((n) => new RetryPolicy({ settings, budget, random: () => 0.999 }).delayMs(n)), [99, 199, 249, 249]);
  assert.deepEqual([1, 2].map((n) => new RetryPolicy({ settings, budget, random: () => 0.5 }).delayMs(n)), [50, 100]);
});

test("RetryBudget caps concurrent retries at max(min, ratio × active) and holds at most max(1, min) tokens", () => {
  const clock = new FakeClock();
  const budget = new RetryBudget({ budgetRatio: 0.2, budgetMinConcurrent: 3 }, clock);
  for (let i = 0; i < 10; i++) budget.begin();
  assert.equal(budget.tryAcquire(), true);
  assert.equal(budget.tryAcquire(), true);
  assert.equal(budget.tryAcquire(), true);
  assert.equal(budget.tryAcquire(), false, "3 in flight: the minimum, 0.2 × 10 = 2 is lower");
  budget.release();
  clock.tick(1_000);
  assert.equal(budget.tryAcquire(), true);
  for (let i = 0; i < 40; i++) budget.begin();
  clock.tick(10_000);
  let granted = 0;
  while (budget.tryAcquire()) granted++;
  assert.equal(granted, 3, "the total cap holds however long it was quiet");
  assert.equal(budget.retrying, 6);
});

test("config: defaults on (breaker, retry), bulkhead and rate limit off; bad values name their path", () => {
  const r = v.parse(ResilienceSchema, {});
  assert.equal(r.breaker.enabled, true);
  assert.equal(r.breaker.consecutiveFailures, 5);
  assert.equal(r.retry.maxAttempts, 3);
  assert.equal(r.retry.budgetRatio, 0.2);
  assert.equal(r.bulkhead, undefined);
  assert.equal(r.rateLimit, undefined);
  const bad = v.safeParse(ConfigSchema, { plugins: { p: { methods: { m: { retry: { maxAttempts: 0 } } } } }, resilience: { breaker: { failureRate: 2 } } });
  assert.equal(bad.success, false);
  const paths = bad.issues!.map((i) => v.getDotPath(i));
  assert.ok(paths.includes("plugins.p.methods.m.retry.maxAttempts"), String(paths));
  assert.ok(paths.includes("resilience.breaker.failureRate"), String(paths));
  const limited = new ResiliencePolicies(pipelineSettings(resolveConfig({ resilience: { rateLimit: { rps: 2.5 } } }, {})));
  assert.equal(limited.plugin("p").rateLimiter!.settings.burst, 3, "burst defaults to ceil(rps)");
});

