/**
 * Benchmark runner (node 24): for each scenario and runtime it starts a private nats-server and the
 * scenario's processes, puts load on them from a separate process at each concurrency, samples CPU
 * and RSS per process from /proc, and prints a results table and a ratio table from the same run.
 *
 *   node bench/run.ts [--smoke] [--duration 10] [--runtimes deno,bun,node] [--scenarios a,b]
 *   node bench/run.ts --scenarios discovery [--n 100,1000] [--r 1,5] [--discovery-modes poll,announce]
 *                     [--discovery-config '{"intervalMs":5000}']
 *   node bench/run.ts --scenarios streaming [--stream-items 200000]
 *
 * The `discovery` group (bench/discovery/) measures instead what finding and checking instances costs
 * with N instances and R routers, and prints its own table; the `streaming` group (bench/streaming/)
 * one stream of many items through the router against the same items on raw NATS.
 * @module
 */
import process from "node:process";
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { JIT_WARMUP_CONCURRENCY, parseBenchArgs, USAGE } from "./args.ts";
import { installCleanup, stopAll } from "./child_procs.ts";
import { machineInfo } from "./machine_info.ts";
import { lifecycleTable, measureLifecycle } from "./lifecycle.ts";
import type { LifecycleRow } from "./lifecycle.ts";
import { ratioTable, resultsTable } from "./report.ts";
import { runScenario } from "./run_scenario.ts";
import { SCENARIOS } from "./scenarios.ts";
import { summarize } from "./summarize.ts";
import { summaryTable } from "./summary_table.ts";
import type { Row } from "./row.ts";
import { describeDiscoveryArgs, DISCOVERY_GROUP } from "./discovery/discovery_options.ts";
import { runDiscoveryGrid } from "./discovery/discovery_run.ts";
import type { DiscoveryRow } from "./discovery/discovery_run.ts";
import { discoveryTable } from "./discovery/discovery_table.ts";
import { STREAMING_GROUP } from "./streaming/stream_options.ts";
import { runStreaming } from "./streaming/stream_run.ts";
import type { StreamRow } from "./streaming/stream_run.ts";
import { streamingTable } from "./streaming/stream_table.ts";
import { comparisonTable } from "./discovery/discovery_compare.ts";

const log = (line: string) => process.stdout.write(`${line}\n`);

async function main(): Promise<number> {
  let opts;
  try {
    opts = parseBenchArgs(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n${USAGE}\n`);
    return 2;
  }
  if (opts === "help") {
    log(USAGE);
    return 0;
  }
  // scenario scripts are given relative to the project root
  process.chdir(resolve(dirname(fileURLToPath(import.meta.url)), ".."));
  installCleanup();
  const machine = machineInfo();
  log(
    `machine: ${machine.nproc} cpu, ${machine.cpuModel}; node ${machine.node}, ${machine.deno}, bun ${machine.bun}`,
  );
  log(
    `mode: ${opts.smoke ? "smoke" : "full"}, ${opts.durationS} s per load (+${opts.warmupS} s warm-up; ${opts.jitWarmupS} s at ${JIT_WARMUP_CONCURRENCY} in flight per scenario first), ` +
      `concurrency ${opts.concurrencies.join(",")}, runtimes ${
        opts.runtimes.join(",")
      }, ${opts.repeat} repetition(s), HTTP load by ${
        opts.load === "wrk" ? `${machine.wrk}, 1 thread` : `autocannon ${machine.autocannon}`
      }`,
  );

  const rows: Row[] = [];
  const scenarios = SCENARIOS.filter((s) => opts.scenarios.includes(s.name));
  // Repetitions are interleaved, and within one the scenarios of a runtime run back to back: the
  // scenarios a ratio compares (same runtime) are measured minutes, not a whole pass, apart.
  for (let rep = 1; rep <= opts.repeat; rep++) {
    for (const runtime of opts.runtimes) {
      for (const scenario of scenarios) {
        if (scenario.runsOn !== undefined && !scenario.runsOn(runtime)) continue;
        log(
          `▶ ${scenario.name} on ${runtime}${
            opts.repeat > 1 ? ` (run ${rep}/${opts.repeat})` : ""
          }: ${scenario.description}`,
        );
        const measured = await runScenario(scenario, runtime, {
          durationS: opts.durationS,
          warmupS: opts.warmupS,
          jitWarmupS: opts.jitWarmupS,
          concurrencies: opts.concurrencies,
          startTimeoutMs: 20_000,
          load: opts.load,
          log,
        });
        rows.push(...measured.map((r) => ({ ...r, rep })));
      }
    }
  }
  let lifecycle: LifecycleRow[] = [];
  if (opts.lifecycle) {
    log("▶ lifecycle: plugin cold start, idle RSS, hot swap under load");
    lifecycle = await measureLifecycle(opts.runtimes, log);
  }
  let streaming: StreamRow[] = [];
  if (opts.scenarios.includes(STREAMING_GROUP)) {
    const a = opts.streaming;
    log(`▶ streaming: one stream of ${a.items} items (after ${a.warmupItems} warm-up) through router+plugin, and on raw NATS`);
    streaming = await runStreaming(opts.runtimes, a, log);
  }
  let discovery: DiscoveryRow[] = [];
  if (opts.scenarios.includes(DISCOVERY_GROUP)) {
    log(`▶ discovery: ${describeDiscoveryArgs(opts.discovery)}`);
    discovery = await runDiscoveryGrid(opts.discovery, log);
  }
  await stopAll();

  if (rows.length > 0) {
    log("\n## Results\n");
    const summary = summarize(rows);
    if (opts.repeat > 1) log(`(median of ${opts.repeat} runs by req/s; every run is in ${opts.out})\n`);
    log(resultsTable(summary));
    log("\n## Ratios (same run)\n");
    log(ratioTable(summary));
    log("\n## Summary: the ratios the performance work tracks (same run)\n");
    log(summaryTable(rows));
  }
  if (streaming.length > 0) {
    log("\n## Streaming\n");
    log(streamingTable(streaming));
  }
  if (discovery.length > 0) {
    log("\n## Discovery at scale\n");
    log(discoveryTable(discovery));
    const compared = comparisonTable(discovery);
    if (compared !== "") log(`\n### The modes side by side (amortised per second)\n\n${compared}`);
  }
  if (lifecycle.length > 0) {
    log("\n## Lifecycle\n");
    log(lifecycleTable(lifecycle));
  }
  mkdirSync(dirname(opts.out), { recursive: true });
  writeFileSync(
    opts.out,
    `${
      JSON.stringify(
        { date: new Date().toISOString(), machine, options: opts, rows, lifecycle, discovery, streaming },
        null,
        2,
      )
    }\n`,
  );
  log(`\nwrote ${opts.out}`);

  const lifecycleFailed = lifecycle.filter((r) => r.note.startsWith("failed"));
  const streamingFailed = streaming.filter((r) => r.status === "failed");
  for (const r of streamingFailed) log(`streaming ${r.path} on ${r.runtime} FAILED: ${r.note}`);
  for (const r of lifecycleFailed) log(`lifecycle on ${r.runtime} FAILED: ${r.note}`);
  const failed = rows.filter((r) => r.status === "failed");
  const skipped = rows.filter((r) => r.status === "skipped");
  if (skipped.length > 0) {
    log(`${skipped.length} row(s) skipped (${[...new Set(skipped.map((r) => r.scenario))].join(", ")})`);
  }
  // the smoke run checks the harness: there, every instance must be found; in a full run an
  // incomplete row is a finding (the table says which), a failed one is not
  const discoveryBad = discovery.filter((r) => r.status === "failed" || (opts.smoke && r.status !== "ok"));
  for (const r of discoveryBad) {
    log(`discovery ${r.mode} N=${r.instances} R=${r.routers} ${r.status.toUpperCase()}: ${r.note}`);
  }
  if ((lifecycleFailed.length > 0 || discoveryBad.length > 0 || streamingFailed.length > 0) && failed.length === 0) return 1;
  if (failed.length > 0) {
    log(`${failed.length} row(s) FAILED:`);
    for (const r of failed) log(`  ${r.scenario} ${r.runtime} c=${r.concurrency}: ${r.note}`);
    return 1;
  }
  log(opts.smoke ? "smoke: harness OK" : "done");
  return 0;
}

process.exit(await main());
