import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { parseBenchArgs } from "../../bench/args.ts";
import type { BenchOptions } from "../../bench/args.ts";
import { discoveryTable, lookToAllKnownMs } from "../../bench/discovery/discovery_table.ts";
import { LookCount } from "../../bench/discovery/discovery_run.ts";
import type { DiscoveryRow } from "../../bench/discovery/discovery_run.ts";
import { modePlan } from "../../bench/discovery/discovery_options.ts";
import { modeRates } from "../../bench/discovery/mode_rates.ts";
import { compareModes, comparisonTable } from "../../bench/discovery/discovery_compare.ts";
import { measureWindow } from "../../bench/discovery/window_sample.ts";
import type { Sample, WindowMeasure } from "../../bench/discovery/window_sample.ts";

const parse = (...argv: string[]) => parseBenchArgs(["--load", "autocannon", ...argv]) as BenchOptions;

describe("bench discovery group", () => {
  test("parseBenchArgs() runs discovery only when named, and a tiny grid in --smoke", () => {
    assert.ok(!parse().scenarios.includes("discovery"));
    const smoke = parse("--smoke");
    assert.ok(smoke.scenarios.includes("discovery"));
    assert.deepEqual([smoke.discovery.instances, smoke.discovery.routers], [[50], [1]]);
    assert.deepEqual(smoke.discovery.modes, ["poll", "announce"]);
    for (const mode of smoke.discovery.modes) {
      const plan = modePlan(smoke.discovery, mode);
      assert.deepEqual([plan.windowS, plan.settleS], [1, 0], mode);
    }
    const only = parse("--scenarios", "discovery");
    assert.deepEqual(only.scenarios, ["discovery"]);
    assert.equal(only.lifecycle, false, "a discovery-only run measures no plugin lifecycle");
    assert.deepEqual([only.discovery.instances, only.discovery.routers], [[100, 1_000, 5_000], [1, 5, 20]]);
    assert.deepEqual(only.discovery.modes, ["poll", "announce"], "both modes by default, poll first");
    const poll = modePlan(only.discovery, "poll");
    assert.deepEqual([poll.periodMs, poll.windowS, poll.settleS], [5_000, 10, 5], "two intervals, after one");
    assert.deepEqual(poll.config, { mode: "poll" });
    const announce = modePlan(only.discovery, "announce");
    assert.deepEqual(
      [announce.periodMs, announce.windowS, announce.settleS],
      [60_000, 60, 2],
      "one roll call period: each router's roll call once",
    );
    assert.deepEqual(announce.config, { mode: "announce" });
  });

  test("parseBenchArgs() takes --discovery-modes, or the mode from --discovery-config, not both", () => {
    const one = parse("--scenarios", "discovery", "--discovery-modes", "announce,announce");
    assert.deepEqual(one.discovery.modes, ["announce"]);
    const both = parse("--discovery-modes", " announce , poll ");
    assert.deepEqual(both.discovery.modes, ["announce", "poll"], "in the order given");
    const fromConfig = parse("--discovery-config", '{"mode":"poll","intervalMs":2000}');
    assert.deepEqual(fromConfig.discovery.modes, ["poll"]);
    assert.deepEqual(fromConfig.discovery.config, { intervalMs: 2000 }, "the mode is set per row, not here");
    const rollCall = parse("--discovery-config", '{"rollCallMs":30000}', "--discovery-window", "7");
    assert.deepEqual(modePlan(rollCall.discovery, "announce").periodMs, 30_000);
    assert.deepEqual(
      modePlan(rollCall.discovery, "announce").windowS,
      7,
      "--discovery-window sets every mode's",
    );
    assert.deepEqual(
      modePlan(parse("--discovery-config", '{"rollCallMs":30000}').discovery, "announce").windowS,
      30,
    );
    assert.throws(() => parse("--discovery-modes", "push"), /unknown discovery mode "push"/);
    assert.throws(() => parse("--discovery-modes", ","), RangeError);
    assert.throws(() => parse("--discovery-config", '{"mode":"push"}'), /unknown discovery mode/);
    assert.throws(
      () => parse("--discovery-modes", "poll", "--discovery-config", '{"mode":"poll"}'),
      /give the mode once/,
    );
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
      '{"intervalMs":2000}',
    );
    assert.deepEqual(opts.discovery.instances, [100, 1_000]);
    assert.deepEqual(opts.discovery.routers, [5]);
    assert.deepEqual(opts.discovery.config, { intervalMs: 2000 });
    assert.equal(modePlan(opts.discovery, "poll").windowS, 4);
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
      rollCalls: 2 * k,
    });
    const w = measureWindow(sample(0, 0), sample(10_000, 5));
    assert.equal(w.seconds, 10);
    assert.equal(w.polls, 5);
    assert.equal(w.rollCalls, 10);
    assert.equal(w.inMsgsPerS, 1_500.5);
    assert.equal(w.msgsPerPoll, 7_001);
    assert.equal(w.bytesPerPoll, 1_800_000);
    assert.deepEqual(w.routerCores, [0.05, 0.15]);
    assert.equal(w.routerCpuMsPerPoll, 400);
    assert.equal(w.pollPeriodS, 4, "two routers polled 5 times in 10 s");
    assert.equal(w.otherCores, 0.5);
    assert.ok(Number.isNaN(measureWindow(sample(0, 0), { ...sample(10_000, 1), polls: 0 }).msgsPerPoll));
  });

  test("discoveryTable() prints the mode and period, the churn, and '-' where a row has no window", () => {
    const failed: DiscoveryRow = {
      mode: "announce",
      periodMs: 2_000,
      runtime: "bun",
      instances: 5_000,
      routers: 20,
      status: "failed",
      note: "boom",
    };
    const table = discoveryTable([failed]).split("\n");
    assert.equal(table.length, 3);
    const cells = table[2]!.split("|").map((c) => c.trim());
    assert.equal(cells[1], "announce (2 s)");
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

  /** A window's figures: what `measureWindow` gives, with what a test sets. */
  const windowOf = (over: Partial<WindowMeasure>): WindowMeasure => ({
    seconds: 60,
    polls: 0,
    rollCalls: 0,
    inMsgsPerS: 0,
    outMsgsPerS: 0,
    inBytesPerS: 0,
    outBytesPerS: 0,
    msgsPerPoll: Number.NaN,
    bytesPerPoll: Number.NaN,
    routerCores: [0.01],
    routerCpuMsPerPoll: Number.NaN,
    pollPeriodS: Number.NaN,
    simCores: 0,
    natsCores: 0,
    slowConsumers: 0,
    otherCores: 0,
    ...over,
  });

  test("modeRates() takes a poll window as it is, and amortises an announce window's full roll calls", () => {
    const w = windowOf({
      inMsgsPerS: 100,
      outMsgsPerS: 150,
      inBytesPerS: 1_000,
      outBytesPerS: 3_000,
      routerCores: [0.01, 0.03],
    });
    const poll = modeRates("poll", { ...w, polls: 2 });
    assert.deepEqual([poll.factor, poll.msgsPerS, poll.bytesPerS], [1, 250, 4_000]);
    assert.deepEqual([poll.routerCpuPct.mean, poll.routerCpuPct.max], [2, 3]);
    // no broadcast among 20 roll calls: one in five would have been full, each costing a roll call more
    const none = modeRates("announce", { ...w, rollCalls: 20 });
    assert.equal(none.factor, 1.2);
    assert.equal(none.msgsPerS, 300);
    assert.ok(Math.abs(none.routerCpuPct.max - 3.6) < 1e-9, "CPU errs high: scaled too");
    // a window that holds its share of full roll calls is the steady state already
    assert.equal(modeRates("announce", { ...w, rollCalls: 20, polls: 4 }).factor, 1);
    assert.ok(Number.isNaN(modeRates("announce", w).msgsPerS), "no roll call: nothing to amortise");
  });

  test("LookCount counts the simulator's lines, and finds a new router's first look by its inbox", () => {
    const looks = new LookCount();
    looks.onSimLine('{"msg":"sim polled","pings":1,"reply":"_INBOX.AAA.1"}', 100);
    looks.onSimLine('{"msg":"sim polled","pings":2,"reply":"_INBOX.AAA.7"}', 5_100);
    looks.onSimLine('{"msg":"sim roll call","rollCalls":1,"reply":"_INBOX.AAA.8"}', 5_200);
    looks.onSimLine("not json", 5_300);
    looks.onSimLine('{"msg":"sim ready"}', 5_300);
    assert.deepEqual([looks.polls, looks.rollCalls], [2, 1]);
    assert.equal(looks.firstBroadcastSince(1_000), undefined, "AAA's later polls are not a new router's");
    looks.onSimLine('{"msg":"sim polled","pings":3,"reply":"_INBOX.BBB.1"}', 6_000);
    looks.onSimLine('{"msg":"sim polled","pings":4,"reply":"_INBOX.BBB.2"}', 6_500);
    assert.equal(looks.firstBroadcastSince(1_000), 6_000);
    assert.equal(looks.polls, 4);
  });

  const row = (mode: "poll" | "announce", over: Partial<DiscoveryRow>): DiscoveryRow => ({
    mode,
    periodMs: mode === "poll" ? 5_000 : 60_000,
    runtime: "bun",
    instances: 5_000,
    routers: 20,
    knownMin: 5_000,
    churn: { dropped: 0, joined: 0 },
    join: { readyMs: 900, firstLookMs: 400, reached: { ms: 1_300, cpuMs: 700 } },
    status: "ok",
    note: "",
    ...over,
  });

  test("discoveryTable() prints per-second rates, the amortised ones, and a new router's look → all known", () => {
    const announce = row("announce", {
      window: windowOf({
        rollCalls: 20,
        inMsgsPerS: 1_000,
        outMsgsPerS: 1_500,
        inBytesPerS: 102_400,
        outBytesPerS: 102_400,
      }),
    });
    assert.equal(lookToAllKnownMs(announce), 900);
    assert.equal(
      lookToAllKnownMs({
        ...announce,
        join: { readyMs: 1, firstLookMs: undefined, reached: { ms: 5, cpuMs: 1 } },
      }),
      undefined,
    );
    const cells = discoveryTable([announce]).split("\n")[2]!.split("|").map((c) => c.trim());
    assert.equal(cells[1], "announce (60 s)");
    assert.equal(cells[6], "0 / 20", "broadcasts / roll calls");
    assert.equal(cells[7], "1,000 / 1,500");
    assert.equal(cells[9], "3,000 / 240", "× 1.2: the full roll calls the window did not hold");
    assert.equal(cells[10], "1.00 / 1.00");
    assert.deepEqual(cells.slice(16, 21), ["900", "400", "1,300", "900", "700"]);
  });

  test("comparisonTable() pairs the modes per N × R, with the ratios and each goal met or missed", () => {
    const poll = row("poll", {
      window: windowOf({
        polls: 40,
        inMsgsPerS: 30_000,
        outMsgsPerS: 40_000,
        inBytesPerS: 5_000_000,
        outBytesPerS: 5_000_000,
        routerCores: [0.05, 0.08],
      }),
      join: { readyMs: 3_000, firstLookMs: 1_000, reached: { ms: 2_500, cpuMs: 900 } },
    });
    const announce = row("announce", {
      window: windowOf({
        rollCalls: 20,
        inMsgsPerS: 1_000,
        outMsgsPerS: 1_500,
        inBytesPerS: 100_000,
        outBytesPerS: 150_000,
        routerCores: [0.004, 0.025],
      }),
    });
    const [c] = compareModes([poll, announce, row("announce", { instances: 100 })]);
    assert.ok(c !== undefined);
    assert.equal(c.msgsRatio, 70_000 / 3_000);
    assert.equal(c.bytesRatio, 10_000_000 / 300_000);
    assert.deepEqual(c.joinMs, { poll: 1_500, announce: 900 });
    assert.deepEqual(c.met, { traffic: true, cpu: false, join: true }, "2.5 % × 1.2 = 3 % of a core: missed");
    assert.equal(
      compareModes([poll, row("announce", { routers: 5, window: announce.window! })]).length,
      0,
      "no pair",
    );
    const lines = comparisonTable([poll, announce]).split("\n");
    assert.equal(lines.length, 3);
    const cells = lines[2]!.split("|").map((x) => x.trim());
    assert.deepEqual(cells.slice(1, 12), [
      "5,000",
      "20",
      "70,000 / 3,000",
      "23.3×",
      "9,766 / 293",
      "33.3×",
      "8.00 / 3.00",
      "1,500 / 900",
      "met",
      "**missed**",
      "met",
    ]);
    const slow = comparisonTable([poll, {
      ...announce,
      status: "incomplete",
      join: { ...announce.join!, reached: undefined },
    }]);
    assert.ok(
      slow.split("\n")[2]!.endsWith(
        "| met (incomplete row) | **missed** (incomplete row) | - (incomplete row) |",
      ),
      slow,
    );
    assert.equal(comparisonTable([poll]), "");
  });
});
