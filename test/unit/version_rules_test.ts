import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { VersionRules } from "../../src/balancing/mod.ts";
import { Registry } from "../../src/registry/mod.ts";
import { INFO_RESPONSE, META_INSTANCE_SUBJECT, META_PROTOCOL, META_REQUIRES, META_WEIGHT } from "../../src/bus/mod.ts";
import type { InfoResponse } from "../../src/bus/mod.ts";
import { orderByRequirements } from "../../src/supervisor/mod.ts";
import { seeded } from "./_balancer_contract.ts";

function info(name: string, version: string, id: string, metadata: Record<string, string> = {}): InfoResponse {
  return {
    type: INFO_RESPONSE,
    name,
    id,
    version,
    description: "",
    metadata: { [META_PROTOCOL]: "1", [META_INSTANCE_SUBJECT]: `sy.$i.${id}`, ...metadata },
    endpoints: [{ name: "work", subject: `sy.${name}.x.work`, queue_group: "q", metadata: {} }],
  };
}

describe("version rules and the registry", () => {
  test("VersionRules.rangeFor() splits by canary weight with an injected random", () => {
    const registry = new Registry("sy");
    registry.upsert(info("p", "1.4.0", "a"), 0);
    registry.upsert(info("p", "2.1.0", "b"), 0);
    const rules = new VersionRules({ p: { canary: { "1.4.0": 90, "2.1.0": 10 } } }, seeded(1));
    let v1 = 0;
    for (let i = 0; i < 10_000; i++) if (rules.rangeFor(registry, "p") === "1.4.0") v1++;
    assert.ok(v1 > 8_800 && v1 < 9_200, `${v1}`);
    const fixed = new VersionRules({ p: { canary: { "1.4.0": 90, "2.1.0": 10 } } }, () => 0.95);
    assert.equal(fixed.rangeFor(registry, "p"), "2.1.0");
  });

  test("VersionRules.rangeFor() skips canary ranges with no live version, and falls back to the version rule", () => {
    const registry = new Registry("sy");
    registry.upsert(info("p", "1.4.0", "a"), 0);
    const rules = new VersionRules({ p: { version: "^1", canary: { "1.4.0": 10, "2.1.0": 90 } } }, () => 0.5);
    assert.equal(rules.rangeFor(registry, "p"), "1.4.0");
    assert.equal(new VersionRules({ p: { version: "^1.2" } }).rangeFor(registry, "p"), "^1.2");
    assert.equal(new VersionRules({}).rangeFor(registry, "p"), undefined);
  });

  test("Registry.upsert() starts instance counters at zero and reads weight and requires from metadata", () => {
    const registry = new Registry("sy");
    registry.upsert(info("p", "1.0.0", "a", { [META_WEIGHT]: "3", [META_REQUIRES]: '{"hello":"^1","BAD NAME":"^1","x":"nope"}' }), 5);
    const version = registry.get("p")!.versions.get("1.0.0")!;
    const a = version.instances.get("a")!;
    assert.deepEqual([a.weight, a.pending, a.failures, a.ejectedUntil, a.health, a.joinedAt], [3, 0, 0, 0, "unknown", 5]);
    assert.deepEqual(version.requires, { hello: "^1" });
    assert.deepEqual(version.live, [a]);
  });

  test("Registry keeps VersionEntry.live current through draining, health and removal", () => {
    const registry = new Registry("sy");
    registry.upsert(info("p", "1.0.0", "a"), 0);
    registry.upsert(info("p", "1.0.0", "b"), 0);
    const version = registry.get("p")!.versions.get("1.0.0")!;
    assert.deepEqual(version.live.map((i) => i.id), ["a", "b"]);
    registry.markDraining("p", "a");
    assert.deepEqual(version.live.map((i) => i.id), ["b"]);
    registry.setHealth("p", "b", "unhealthy", 10);
    assert.equal(version.instances.get("b")!.health, "unhealthy");
    assert.equal(version.instances.get("b")!.lastSeen, 10);
    registry.remove("p", "b");
    assert.deepEqual(version.live, []);
    assert.equal(registry.pick("p", undefined), null);
  });

  test("Registry.prune() removes instances silent since the cutoff", () => {
    const registry = new Registry("sy");
    registry.upsert(info("p", "1.0.0", "old"), 0);
    registry.upsert(info("p", "1.0.0", "new"), 100);
    assert.equal(registry.prune(50), 1);
    assert.deepEqual([...registry.get("p")!.versions.get("1.0.0")!.instances.keys()], ["new"]);
  });

  test("orderByRequirements() starts requirements first and names a cycle", () => {
    const plugins = [
      { name: "a", requires: { b: "^1" } },
      { name: "b", requires: { c: "^1", outside: "^1" } },
      { name: "c", requires: {} },
    ];
    assert.deepEqual(orderByRequirements(plugins).map((p) => p.name), ["c", "b", "a"]);
    const cyclic = [{ name: "a", requires: { b: "^1" } }, { name: "b", requires: { a: "^1" } }];
    assert.throws(() => orderByRequirements(cyclic), /cycle: a → b → a/);
  });
});
