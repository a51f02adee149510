import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { Registry } from "../../src/registry/mod.ts";
import { INFO_RESPONSE, META_INSTANCE_SUBJECT, META_PROTOCOL, META_REGION } from "../../src/bus/mod.ts";
import type { InfoResponse } from "../../src/bus/mod.ts";

function info(name: string, id: string, region = ""): InfoResponse {
  return {
    type: INFO_RESPONSE,
    name,
    id,
    version: "1.0.0",
    description: "",
    metadata: { [META_PROTOCOL]: "1", [META_INSTANCE_SUBJECT]: `sy.$i.${name}.${id}`, [META_REGION]: region },
    endpoints: [{ name: "work", subject: `sy.${name}.1_0_0.work`, queue_group: "q", metadata: {} }],
  };
}

describe("the registry with many instances", () => {
  test("a join appends to live and liveByRegion; a health change rebuilds nothing", () => {
    const registry = new Registry("sy");
    registry.admit(info("p", "a", "eu"), 0);
    const version = registry.get("p")!.versions.get("1.0.0")!;
    registry.admit(info("p", "b", "us"), 0);
    registry.admit(info("p", "c", "eu"), 0);
    assert.deepEqual(version.live.map((i) => i.id), ["a", "b", "c"]);
    assert.deepEqual([...version.liveByRegion].map(([r, l]) => [r, l.map((i) => i.id)]), [
      ["eu", ["a", "c"]],
      ["us", ["b"]],
    ]);
    const [live, byRegion] = [version.live, version.liveByRegion];
    registry.setHealth(version.instances.get("b")!, "unhealthy", 5);
    assert.equal(version.live, live, "health is read per pick: the lists stay as they are");
    assert.equal(version.liveByRegion, byRegion);
    assert.equal(version.instances.get("b")!.health, "unhealthy");
    registry.markDraining("p", "a");
    assert.deepEqual(version.liveByRegion.get("eu")!.map((i) => i.id), ["c"]);
    assert.equal(registry.pick("p", undefined), version);
  });

  test("prune() forgets the silent instances of each version at once, and empty versions with them", () => {
    const registry = new Registry("sy");
    for (const id of ["a", "b", "c"]) registry.admit(info("p", id), id === "b" ? 10 : 0);
    registry.admit(info("q", "d"), 0);
    const p = registry.get("p")!.versions.get("1.0.0")!;
    assert.equal(registry.prune(5), 3);
    assert.deepEqual(p.live.map((i) => i.id), ["b"]);
    assert.deepEqual([...p.liveByRegion.values()].flat().map((i) => i.id), ["b"]);
    assert.equal(registry.get("q")!.versions.size, 0);
    assert.equal(registry.pick("q", undefined), null);
  });

  test("20,000 instances join, report their health and go silent in linear time", () => {
    // Rebuilding every version's lists on each change made this quadratic: ~10^9 steps, tens of
    // seconds. Linear, it takes tens of ms; the bound leaves room for a busy machine.
    const registry = new Registry("sy");
    const started = performance.now();
    for (let i = 0; i < 20_000; i++) {
      const entry = registry.admit(info(`p${i % 2}`, `i${i}`), 0);
      assert.ok(entry !== undefined && !("reason" in entry));
      registry.setHealth(entry, "ok", 1);
    }
    assert.equal(registry.get("p0")!.versions.get("1.0.0")!.live.length, 10_000);
    assert.equal(registry.prune(2), 20_000);
    const ms = performance.now() - started;
    assert.ok(ms < 5_000, `${Math.round(ms)} ms`);
  });
});
