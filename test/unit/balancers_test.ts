import { describe, test } from "node:test";
import assert from "node:assert/strict";
import * as v from "valibot";
import {
  Balancing,
  BalancingOptionsSchema,
  createBalancer,
  createLatencyBalancer,
  createLeastPendingBalancer,
  createQueueBalancer,
  createRoundRobinBalancer,
  createWeightedBalancer,
  NONE_LOCAL,
  recordLatency,
} from "../../src/balancing/mod.ts";
import { balancerContract, instance, seeded } from "./_balancer_contract.ts";

balancerContract("round-robin", createRoundRobinBalancer);
balancerContract("weighted", createWeightedBalancer);
balancerContract("least-pending", createLeastPendingBalancer);
balancerContract("latency", createLatencyBalancer);

describe("balancing strategies", () => {
  const ctx = { now: 1_000_000, random: seeded(7) };

  test("createQueueBalancer().pick() always leaves the choice to NATS", () => {
    assert.equal(createQueueBalancer().pick([instance("a")], ctx), undefined);
    assert.equal(createBalancer("queue").name, "queue");
  });

  test("round-robin visits instances in turn, skipping unavailable ones", () => {
    const b = createRoundRobinBalancer();
    const list = [instance("a"), instance("b", { ejectedUntil: Infinity }), instance("c")];
    assert.deepEqual(Array.from({ length: 4 }, () => b.pick(list, ctx)!.id), ["a", "c", "a", "c"]);
  });

  test("weighted splits by config weight over instance metadata weight", () => {
    const b = createWeightedBalancer({ weights: { a: 3 } });
    const list = [instance("a", { weight: 1 }), instance("b", { weight: 1 })];
    let a = 0;
    for (let i = 0; i < 4000; i++) if (b.pick(list, ctx)!.id === "a") a++;
    assert.ok(a / 4000 > 0.72 && a / 4000 < 0.78, `${a}`);
  });

  test("least-pending prefers the instance with fewer pending requests", () => {
    const b = createLeastPendingBalancer();
    const busy = instance("busy", { pending: 5 });
    const idle = instance("idle", { pending: 1 });
    for (let i = 0; i < 100; i++) assert.equal(b.pick([busy, idle], ctx), idle);
  });

  test("least-pending slow start: a brand-new instance counts as busier than an old one with the same load", () => {
    const b = createLeastPendingBalancer({ slowStartMs: 2_000 });
    const fresh = instance("fresh", { joinedAt: ctx.now, pending: 0 });
    const old = instance("old", { pending: 2 });
    for (let i = 0; i < 50; i++) assert.equal(b.pick([fresh, old], ctx), old);
    // After the ramp it is scored on its pending alone.
    const later = { ...ctx, now: ctx.now + 2_000 };
    for (let i = 0; i < 50; i++) assert.equal(b.pick([fresh, old], later), fresh);
  });

  test("latency prefers the lower EWMA × (pending + 1); recordLatency() folds samples in", () => {
    const fast = instance("fast");
    const slow = instance("slow");
    recordLatency(fast, 2);
    recordLatency(slow, 50);
    recordLatency(slow, 50);
    assert.equal(fast.ewmaMs, 2);
    assert.equal(slow.ewmaMs, 50);
    recordLatency(fast, 12);
    assert.equal(fast.ewmaMs, 4);
    const b = createLatencyBalancer();
    for (let i = 0; i < 50; i++) assert.equal(b.pick([slow, fast], ctx), fast);
    fast.pending = 20; // 4 × 21 = 84 > 50 × 1
    assert.equal(b.pick([slow, fast], ctx), slow);
  });
});

describe("Balancing.pick() and regions", () => {
  const version = (instances: ReturnType<typeof instance>[]) => {
    const liveByRegion = new Map<string, ReturnType<typeof instance>[]>();
    for (const i of instances) liveByRegion.set(i.region, [...(liveByRegion.get(i.region) ?? []), i]);
    return { version: "1.0.0", methods: new Map(), instances: new Map(instances.map((i) => [i.id, i])), requires: {}, live: instances, liveByRegion };
  };
  const settings = (locality?: "prefer-local" | "local-only" | "any", region = "a") => ({
    balancing: v.parse(BalancingOptionsSchema, {}),
    plugins: locality === undefined ? {} : { p: { locality } },
    region,
  });

  test("prefer-local (the default) picks the router's region while it has an available instance, else any", () => {
    const a = instance("a1", { region: "a" });
    const b = instance("b1", { region: "b" });
    const ver = version([a, b]);
    const balancing = new Balancing(settings(), seeded(3));
    for (let i = 0; i < 50; i++) assert.equal(balancing.pick("p", ver, 0), a);
    a.ejectedUntil = 1_000;
    assert.equal(balancing.pick("p", ver, 0), b, "a's only instance is ejected: b takes it");
  });

  test("local-only answers NONE_LOCAL when its region has none; any ignores regions; no region, no preference", () => {
    const a = instance("a1", { region: "a", draining: false, ejectedUntil: 1_000 });
    const b = instance("b1", { region: "b" });
    const ver = version([a, b]);
    assert.equal(new Balancing(settings("local-only"), seeded(3)).pick("p", ver, 0), NONE_LOCAL);
    const any = new Balancing(settings("any"), seeded(3));
    a.ejectedUntil = 0;
    const picked = new Set(Array.from({ length: 100 }, () => any.pick("p", ver, 0)));
    assert.equal(picked.size, 2, "both regions alike");
    const noRegion = new Balancing(settings(undefined, ""), seeded(3));
    assert.equal(new Set(Array.from({ length: 100 }, () => noRegion.pick("p", ver, 0))).size, 2);
  });
});
