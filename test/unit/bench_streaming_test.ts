import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { parseBenchArgs } from "../../bench/args.ts";
import type { BenchOptions } from "../../bench/args.ts";
import { streamingTable } from "../../bench/streaming/stream_table.ts";
import type { StreamRow } from "../../bench/streaming/stream_run.ts";

const parse = (...argv: string[]) => parseBenchArgs(["--load", "autocannon", ...argv]) as BenchOptions;

describe("bench streaming group", () => {
  test("parseBenchArgs() runs streaming by default and in --smoke (small), and takes --stream-items", () => {
    const full = parse();
    assert.ok(full.scenarios.includes("streaming"));
    assert.deepEqual(full.streaming, { items: 200_000, warmupItems: 20_000, capS: 60 });
    const smoke = parse("--smoke");
    assert.ok(smoke.scenarios.includes("streaming"));
    assert.deepEqual(smoke.streaming, { items: 5_000, warmupItems: 1_000, capS: 20 });
    const only = parse("--scenarios", "streaming", "--stream-items", "50000");
    assert.deepEqual(only.scenarios, ["streaming"]);
    assert.equal(only.lifecycle, false, "a streaming-only run measures no plugin lifecycle");
    assert.deepEqual([only.streaming.items, only.streaming.warmupItems], [50_000, 5_000]);
    assert.throws(() => parse("--stream-items", "0"), /--stream-items must be an integer/);
    assert.throws(() => parse("--stream-items", "1.5"), /--stream-items must be an integer/);
  });

  test("streamingTable() puts switchyard against the same runtime's floor; a failed row says why", () => {
    const cpu = (front: number, back: number, nats: number) => ({ front, back, nats, client: 1 });
    const rows: StreamRow[] = [
      { runtime: "node", path: "floor", status: "ok", note: "", items: 1000, ms: 10, itemsPerS: 100_000, cpuUsPerItem: cpu(2, 2, 1), otherCores: 0.25 },
      { runtime: "node", path: "switchyard", status: "ok", note: "", items: 1000, ms: 20, itemsPerS: 50_000, cpuUsPerItem: cpu(4, 4, 2), otherCores: 0 },
      { runtime: "bun", path: "floor", status: "failed", note: "failed: a | b", items: 1000 },
      { runtime: "bun", path: "switchyard", status: "ok", note: "", items: 1000, ms: 5, itemsPerS: 200_000, cpuUsPerItem: cpu(1, 1, 1) },
    ];
    const lines = streamingTable(rows).split("\n");
    assert.equal(lines.length, 6);
    const cells = (line: string) => line.slice(2, -2).split(" | ");
    const header = cells(lines[0]!);
    assert.ok(lines.every((l) => cells(l).length === header.length), "every line has the header's columns");
    const at = (line: string, name: string) => cells(line)[header.indexOf(name)];
    assert.equal(at(lines[3]!, "× floor items/s"), "2.00");
    assert.equal(at(lines[3]!, "× floor CPU Σ"), "2.00");
    assert.equal(at(lines[3]!, "servers Σ"), "10.00");
    assert.equal(at(lines[2]!, "× floor items/s"), "-", "the floor has no ratio");
    assert.equal(at(lines[4]!, "status"), "failed: a / b");
    assert.equal(at(lines[5]!, "× floor items/s"), "-", "no ratio without that runtime's floor");
  });
});
