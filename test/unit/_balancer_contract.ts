import { describe, test } from "node:test";
import assert from "node:assert/strict";
import type { BalanceContext, Balancer } from "../../src/balancing/mod.ts";
import type { InstanceEntry } from "../../src/registry/mod.ts";

/** An instance entry as the registry makes them. */
export function instance(id: string, fields: Partial<InstanceEntry> = {}): InstanceEntry {
  return {
    id,
    plugin: "p",
    version: "1.0.0",
    runtime: "node",
    host: "h",
    region: "",
    subjectBase: `sy.$i.${id}`,
    draining: false,
    lastSeen: 0,
    joinedAt: -1_000_000,
    weight: 1,
    pending: 0,
    ewmaMs: 0,
    failures: 0,
    lastOkAt: 0,
    lastReplyAt: 0,
    ejections: 0,
    ejectedUntil: 0,
    health: "ok",
    subjects: new Map(),
    ...fields,
  };
}

/** A seeded uniform generator (mulberry32), so splits are reproducible. */
export function seeded(seed = 42): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** What every router-picking balancer must do. */
export function balancerContract(name: string, create: () => Balancer): void {
  describe(`${name} balancer contract`, () => {
    const ctx = (): BalanceContext => ({ now: 1_000, random: seeded() });

    test(`${name}.pick() returns undefined for no instances`, () => {
      assert.equal(create().pick([], ctx()), undefined);
    });

    test(`${name}.pick() never returns a draining, ejected or unhealthy instance`, () => {
      const b = create();
      const c = ctx();
      const ok = instance("ok");
      const list = [
        instance("draining", { draining: true }),
        instance("ejected", { ejectedUntil: 5_000 }),
        ok,
        instance("sick", { health: "unhealthy" }),
      ];
      for (let i = 0; i < 200; i++) assert.equal(b.pick(list, c), ok);
    });

    test(`${name}.pick() returns undefined when no instance is available`, () => {
      const list = [instance("a", { draining: true }), instance("b", { ejectedUntil: 5_000 })];
      assert.equal(create().pick(list, ctx()), undefined);
    });

    test(`${name}.pick() takes back an instance whose ejection has expired`, () => {
      const back = instance("back", { ejectedUntil: 999 });
      assert.equal(create().pick([back], ctx()), back);
    });

    test(`${name}.pick() spreads equal idle instances: each of 3 gets 20-47 % of 3000 picks`, () => {
      const b = create();
      const c = ctx();
      const list = [instance("a"), instance("b"), instance("c")];
      const counts = new Map<string, number>();
      for (let i = 0; i < 3000; i++) {
        const picked = b.pick(list, c)!;
        counts.set(picked.id, (counts.get(picked.id) ?? 0) + 1);
      }
      for (const i of list) {
        const share = (counts.get(i.id) ?? 0) / 3000;
        assert.ok(share > 0.2 && share < 0.47, `${i.id}: ${share}`);
      }
    });
  });
}
