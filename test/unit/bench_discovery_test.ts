import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { parseBenchArgs } from "../../bench/args.ts";
import type { BenchOptions } from "../../bench/args.ts";
import { discoveryTable } from "../../bench/discovery/discovery_table.ts";
import type { DiscoveryRow } from "../../bench/discovery/discovery_run.ts";
import { measureWindow } from "../../bench/discovery/window_sample.ts";
import type { Sample } from "../../bench/discovery/window_sample.ts";

const parse = (...argv: string[]) => parseBenchArgs(["--load", "autocannon", ...argv]) as BenchOptions;

describe("bench discovery group", () => {
  test("parseBenchArgs() runs discovery only when named, and a tiny grid in --smoke", () => {
    assert.ok(!parse().scenarios.includes("discovery"));
    const smoke = parse("--smoke");
    assert.ok(smoke.scenarios.includes("discovery"));
    assert.deepEqual([smoke.discovery.instances, smoke.discovery.routers], [[50], [1]]);
    assert.equal(smoke.discovery.settleS, 0);
    const only = parse("--scenarios", "discovery");
    assert.deepEqual(only.scenarios, ["discovery"]);
    assert.equal(only.lifecycle, false, "a discovery-only run measures no plugin lifecycle");
    assert.deepEqual([only.discovery.instances, only.discovery.routers], [[100, 1_000, 5_000], [1, 5, 20]]);
    assert.deepEqual([only.discovery.windowS, only.discovery.settleS], [10, 5], "two intervals, then one");
  });

  test("parseBenchArgs() takes --n, --r and the router's discovery config", () => {
    const opts = parse(
      "--scenarios",
      "discovery",
      "--n",
      "1000,100,1000",
      "--r",
      "5",
      "--discovery-config",
      '{"intervalMs":2000,"mode":"push"}',
    );
    assert.deepEqual(opts.discovery.instances, [100, 1_000]);
    assert.deepEqual(opts.discovery.routers, [5]);
    assert.deepEqual(opts.discovery.config, { intervalMs: 2000, mode: "push" });
    assert.equal(opts.discovery.windowS, 4);
    assert.throws(() => parse("--discovery-config", "{mode: push}"), RangeError);
    assert.throws(() => parse("--discovery-config", "[1]"), RangeError);
    assert.throws(() => parse("--n", "0"), RangeError);
    assert.throws(() => parse("--scenarios", "discovry"), RangeError);
  });

  test("measureWindow() gives rates, per-poll figures and the rest of the machine's share", () => {
    const sample = (atMs: number, k: number): Sample => ({
      atMs,
      varz: {
        in_msgs: 3_001 * k,
        out_msgs: 4_000 * k,
        in_bytes: 900_000 * k,
        out_bytes: 900_000 * k,
        slow_consumers: 0,
      },
      routersUs: [100_000 * k, 300_000 * k],
      simUs: 50_000 * k,
      natsUs: 50_000 * k,
      selfUs: 0,
      hostUs: 1_500_000 * k,
      polls: k,
    });
    const w = measureWindow(sample(0, 0), sample(10_000, 5));
    assert.equal(w.seconds, 10);
    assert.equal(w.polls, 5);
    assert.equal(w.inMsgsPerS, 1_500.5);
    assert.equal(w.msgsPerPoll, 7_001);
    assert.equal(w.bytesPerPoll, 1_800_000);
    assert.deepEqual(w.routerCores, [0.05, 0.15]);
    assert.equal(w.routerCpuMsPerPoll, 400);
    assert.equal(w.pollPeriodS, 4, "two routers polled 5 times in 10 s");
    assert.equal(w.otherCores, 0.5);
    assert.ok(Number.isNaN(measureWindow(sample(0, 0), { ...sample(10_000, 1), polls: 0 }).msgsPerPoll));
  });

  test("discoveryTable() prints the mode and interval, the churn, and '-' where a row has no window", () => {
    const failed: DiscoveryRow = {
      mode: "push",
      intervalMs: 2_000,
      runtime: "bun",
      instances: 5_000,
      routers: 20,
      status: "failed",
      note: "boom",
    };
    const table = discoveryTable([failed]).split("\n");
    assert.equal(table.length, 3);
    const cells = table[2]!.split("|").map((c) => c.trim());
    assert.equal(cells[1], "push (2 s)");
    assert.equal(cells[3], "5,000");
    assert.ok(cells.includes("failed: boom"));
    assert.ok(cells.filter((c) => c === "-").length > 10);
    // a router's quoted output in a note stays in its one cell
    const quoted = {
      ...failed,
      note: "router 1 exited\n    | Invalid configuration:\n    |   discovery.mode: unknown key",
    };
    const [, , line] = discoveryTable([quoted]).split("\n");
    assert.ok(
      line!.endsWith("| failed: router 1 exited Invalid configuration: discovery.mode: unknown key |"),
      line,
    );
  });
});
