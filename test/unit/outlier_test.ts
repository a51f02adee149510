import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { OutlierDetector } from "../../src/balancing/mod.ts";
import { instance } from "./_balancer_contract.ts";

const options = { consecutiveFailures: 3, baseEjectionMs: 1_000, maxEjectionMs: 2_500, maxEjectionPercent: 50 };

describe("OutlierDetector", () => {
  test("OutlierDetector.failure() ejects after N consecutive failures; a success resets the count", () => {
    const d = new OutlierDetector(options);
    const a = instance("a");
    const peers = [a, instance("b"), instance("c")];
    assert.equal(d.failure(a, peers, 0), false);
    assert.equal(d.failure(a, peers, 0), false);
    d.success(a);
    assert.equal(d.failure(a, peers, 0), false);
    assert.equal(d.failure(a, peers, 0), false);
    assert.equal(d.failure(a, peers, 0), true);
    assert.equal(a.ejectedUntil, 1_000);
    assert.equal(a.ejections, 1);
  });

  test("OutlierDetector.failure() makes each ejection longer (base × count), capped at maxEjectionMs", () => {
    const d = new OutlierDetector(options);
    const a = instance("a");
    const peers = [a, instance("b"), instance("c")];
    const durations: number[] = [];
    let now = 0;
    for (let round = 0; round < 4; round++) {
      while (!d.failure(a, peers, now));
      durations.push(a.ejectedUntil - now);
      now = a.ejectedUntil; // back in rotation when its time is up
    }
    assert.deepEqual(durations, [1_000, 2_000, 2_500, 2_500]);
  });

  test("OutlierDetector.failure() never ejects past maxEjectionPercent, and forces ejection for a vanished instance", () => {
    const d = new OutlierDetector(options);
    const [a, b] = [instance("a"), instance("b")];
    const peers = [a, b, instance("c"), instance("d")];
    assert.equal(d.failure(a, peers, 0, true), true, "no-responders ejects at once");
    assert.equal(d.failure(b, peers, 0, true), true, "2 of 4 is 50 %");
    const c = peers[2]!;
    for (let i = 0; i < 5; i++) assert.equal(d.failure(c, peers, 0), false, "a third would be 75 %");
    assert.equal(d.failure(c, peers, 1_000), true, "once the others are back it can go");
  });

  test("OutlierDetector with consecutiveFailures 0 never ejects", () => {
    const d = new OutlierDetector({ ...options, consecutiveFailures: 0 });
    const a = instance("a");
    for (let i = 0; i < 10; i++) assert.equal(d.failure(a, [a, instance("b"), instance("c")], 0, true), false);
  });
});
