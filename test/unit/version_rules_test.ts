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
    metadata: { [META_PROTOCOL]: "1", [META_INSTANCE_SUBJECT]: `sy.$i.${name}.${id}`, ...metadata },
    endpoints: [{ name: "work", subject: `sy.${name}.${version.replaceAll(".", "_")}.work`, queue_group: "q", metadata: {} }],
  };
}

describe("version rules and the registry", () => {
  test("VersionRules.rangeFor() splits by canary weight with an injected random", () => {
    const registry = new Registry("sy");
    registry.admit(info("p", "1.4.0", "a"), 0);
    registry.admit(info("p", "2.1.0", "b"), 0);
    const rules = new VersionRules({ p: { canary: { "1.4.0": 90, "2.1.0": 10 } } }, seeded(1));
    let v1 = 0;
    for (let i = 0; i < 10_000; i++) if (rules.rangeFor(registry, "p") === "1.4.0") v1++;
    assert.ok(v1 > 8_800 && v1 < 9_200, `${v1}`);
    const fixed = new VersionRules({ p: { canary: { "1.4.0": 90, "2.1.0": 10 } } }, () => 0.95);
    assert.equal(fixed.rangeFor(registry, "p"), "2.1.0");
  });

  test("VersionRules.rangeFor() skips canary ranges with no live version, and falls back to the version rule", () => {
    const registry = new Registry("sy");
    registry.admit(info("p", "1.4.0", "a"), 0);
    const rules = new VersionRules({ p: { version: "^1", canary: { "1.4.0": 10, "2.1.0": 90 } } }, () => 0.5);
    assert.equal(rules.rangeFor(registry, "p"), "1.4.0");
    assert.equal(new VersionRules({ p: { version: "^1.2" } }).rangeFor(registry, "p"), "^1.2");
    assert.equal(new VersionRules({}).rangeFor(registry, "p"), undefined);
  });

  test("Registry.admit() starts instance counters at zero and reads weight and requires from metadata", () => {
    const registry = new Registry("sy");
    registry.admit(info("p", "1.0.0", "a", { [META_WEIGHT]: "3", [META_REQUIRES]: '{"hello":"^1","BAD NAME":"^1","x":"nope"}' }), 5);
    const version = registry.get("p")!.versions.get("1.0.0")!;
    const a = version.instances.get("a")!;
    assert.deepEqual([a.weight, a.pending, a.failures, a.ejectedUntil, a.health, a.joinedAt], [3, 0, 0, 0, "unknown", 5]);
    assert.deepEqual(version.requires, { hello: "^1" });
    assert.deepEqual(version.live, [a]);
  });

  test("Registry keeps VersionEntry.live current through draining, health and removal", () => {
    const registry = new Registry("sy");
    registry.admit(info("p", "1.0.0", "a"), 0);
    registry.admit(info("p", "1.0.0", "b"), 0);
    const version = registry.get("p")!.versions.get("1.0.0")!;
    assert.deepEqual(version.live.map((i) => i.id), ["a", "b"]);
    registry.markDraining("p", "a");
    assert.deepEqual(version.live.map((i) => i.id), ["b"]);
    registry.setHealth(version.instances.get("b")!, "unhealthy", 10);
    assert.equal(version.instances.get("b")!.health, "unhealthy");
    assert.equal(version.instances.get("b")!.lastSeen, 10);
    registry.remove("p", "b");
    assert.deepEqual(version.live, []);
    assert.equal(registry.pick("p", undefined), null);
  });

  test("Registry.admit() derives every subject from the names and refuses an INFO that claims others", () => {
    const registry = new Registry("sy");
    const a = registry.admit(info("p", "1.0.0", "a"), 0);
    assert.ok(a !== undefined && !("reason" in a));
    assert.equal(a.subjectBase, "sy.$i.p.a");
    assert.equal(registry.get("p")!.versions.get("1.0.0")!.methods.get("work")!.subject, "sy.p.1_0_0.work");
    const refused = (i: InfoResponse) => {
      const r = registry.admit(i, 0);
      return r !== undefined && "reason" in r ? r.reason : "admitted";
    };
    assert.match(refused(info("q", "1.0.0", "x", { [META_INSTANCE_SUBJECT]: "sy.$ctl.counter.c1" })), /claims instance subject "sy\.\$ctl\.counter\.c1"/);
    assert.match(refused({ ...info("q", "1.0.0", "y"), endpoints: [{ name: "work", subject: "sy.$i.p.a.work", queue_group: "q", metadata: {} }] }), /endpoint "work" claims subject/);
    assert.match(refused(info("q", "1.0.0", "z", { [META_PROTOCOL]: "2" })), /unknown protocol version "2"/);
    assert.match(refused(info("q", "1.0.0", "w", { "sy.prefix": "other" })), /another subject prefix/);
    assert.match(refused(info("q", "1.0", "v")), /not semver/);
    assert.equal(registry.get("q"), undefined, "nothing of a refused INFO enters");
  });

  test("Registry.remove() drops a version with its last instance; the plugin stays known", () => {
    const registry = new Registry("sy");
    registry.admit(info("p", "1.0.0", "a"), 0);
    registry.admit(info("p", "2.0.0", "b"), 0);
    assert.equal(registry.pick("p", undefined)?.version, "2.0.0");
    assert.equal(registry.pick("p", undefined, registry.get("p")!.versions.get("2.0.0"))?.version, "1.0.0", "exclude");
    assert.equal(registry.remove("p", "b")?.id, "b");
    assert.deepEqual([...registry.get("p")!.versions.keys()], ["1.0.0"]);
    assert.equal(registry.knows("p", "^2"), false, "a gone version is not known: no_matching_version");
    registry.remove("p", "a");
    assert.ok(registry.get("p") !== undefined);
    assert.equal(registry.pick("p", undefined), null);
  });

  test("Registry.prune() removes instances silent since the cutoff", () => {
    const registry = new Registry("sy");
    registry.admit(info("p", "1.0.0", "old"), 0);
    registry.admit(info("p", "1.0.0", "new"), 100);
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
