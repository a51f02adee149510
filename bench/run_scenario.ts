/**
 * Runs one scenario on one runtime: a private nats-server, the scenario's processes, then one load
 * process per concurrency. CPU time of every process is sampled from /proc over the measured window.
 * @module
 */
import process from "node:process";
import { existsSync } from "node:fs";
import { Child } from "./child_procs.ts";
import { freePort, probeHttp } from "./http_util.ts";
import { startNatsServer } from "./nats_server.ts";
import type { NatsServer } from "./nats_server.ts";
import { cpuTimeUs, hostBusyUs, rssMiB } from "./proc_stats.ts";
import { runtimeArgv } from "./scenarios.ts";
import type { RuntimeName, Scenario, ScenarioContext } from "./scenarios.ts";
import { JIT_WARMUP_CONCURRENCY } from "./args.ts";
import type { LoadGenerator } from "./args.ts";
import type { LoadResult } from "./load_result.ts";
import type { Column, Row } from "./row.ts";

export interface RunOptions {
  durationS: number;
  warmupS: number;
  /** Seconds of unmeasured load at {@linkcode JIT_WARMUP_CONCURRENCY} before the first measured one. */
  jitWarmupS: number;
  concurrencies: readonly number[];
  startTimeoutMs: number;
  /** Which HTTP load generator runs the `http` loads. */
  load: LoadGenerator;
  log(line: string): void;
}

const LOAD_SCRIPTS: Record<LoadGenerator, string> = {
  wrk: "bench/load_wrk.ts",
  autocannon: "bench/load_http.ts",
};

interface Tracked {
  column: Column;
  child: Child;
}

function childEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith("OTEL_")) env[k] = v;
  return { ...env, ...extra };
}

function sample(tracked: readonly Tracked[], read: (pid: number) => number): Partial<Record<Column, number>> {
  const out: Partial<Record<Column, number>> = {};
  for (const t of tracked) out[t.column] = (out[t.column] ?? 0) + read(t.child.pid);
  return out;
}

/** Runs `scenario` on `runtime` at each concurrency; never throws, failures become rows. */
export async function runScenario(
  scenario: Scenario,
  runtime: RuntimeName,
  opts: RunOptions,
): Promise<Row[]> {
  const row = (concurrency: number, status: Row["status"], note: string): Row => ({
    scenario: scenario.name,
    runtime,
    concurrency,
    status,
    note,
  });
  const missing = scenario.requires.filter((f) => !existsSync(f));
  if (missing.length > 0) {
    const note = `skipped: ${missing.join(", ")} not found`;
    opts.log(`${scenario.name} on ${runtime}: ${note}`);
    return opts.concurrencies.map((c) => row(c, "skipped", note));
  }
  let nats: NatsServer | undefined;
  const tracked: Tracked[] = [];
  const rows: Row[] = [];
  try {
    nats = await startNatsServer();
    tracked.push({ column: "nats", child: nats.child });
    const ctx: ScenarioContext = {
      runtime,
      natsUrl: nats.url,
      httpPort: await freePort(),
      sinkPort: await freePort(),
    };
    // Started together: none needs another to be ready to start (each waits for its peers on NATS,
    // and the probe below waits for the whole chain), and start-up is most of a short run's time.
    const readies = scenario.processes(ctx).map((spec) => {
      const argv = runtimeArgv(spec.runtime ?? runtime, spec.script, spec.args);
      const child = new Child(`${scenario.name}/${spec.role} (${argv[0]})`, argv, childEnv(spec.env));
      tracked.push({ column: spec.role, child });
      return child.waitFor(spec.ready, opts.startTimeoutMs);
    });
    await Promise.all(readies);
    const load = scenario.load;
    const url = load.kind === "http" ? `http://127.0.0.1:${ctx.httpPort}${load.path}` : "";
    if (load.kind === "http") await probeHttp(url, load.body, opts.startTimeoutMs, load.expect);
    opts.log(`${scenario.name} on ${runtime}: ${tracked.length} process(es) ready`);
    const loadArgv = (c: number, durationS: number, warmupS: number): string[] => {
      const args = ["-c", String(c), "-d", String(durationS), "--warmup", String(warmupS)];
      return load.kind === "http"
        ? runtimeArgv("node", LOAD_SCRIPTS[opts.load], ["--url", url, "--body", load.body, ...args])
        : runtimeArgv(runtime, "bench/floor_nats_client.ts", ["--nats", ctx.natsUrl, "--subject", load.subject, ...args]);
    };
    if (opts.jitWarmupS > 0) await jitWarmup(`${scenario.name}/jit warm-up`, loadArgv(JIT_WARMUP_CONCURRENCY, opts.jitWarmupS, 0), opts.jitWarmupS);
    for (const c of opts.concurrencies) {
      rows.push(await measure(scenario.name, runtime, c, loadArgv(c, opts.durationS, opts.warmupS), tracked, opts));
    }
    if (tracked.some((t) => t.column === "sink")) await noteSinkStats(ctx.sinkPort, rows, opts);
  } catch (err) {
    const note = `failed: ${err instanceof Error ? err.message : String(err)}`;
    opts.log(`${scenario.name} on ${runtime}: ${note}`);
    for (const c of opts.concurrencies.slice(rows.length)) rows.push(row(c, "failed", note));
  } finally {
    await Promise.all(tracked.slice(1).map((t) => t.child.stop()));
    await nats?.stop();
  }
  return rows;
}

/** Runs one unmeasured load to its end (its result is not read: a failure shows in the loads after it). */
async function jitWarmup(name: string, argv: string[], durationS: number): Promise<void> {
  const load = new Child(name, argv, childEnv());
  try {
    await load.waitFor(/^\{"result":/, (durationS + 60) * 1000);
  } finally {
    await load.stop();
  }
}

/**
 * Says how many OTLP exports reached the sink (0 means the traced scenario exported nothing), or how
 * many snapshots an open dashboard page got.
 */
async function noteSinkStats(port: number, rows: Row[], opts: RunOptions): Promise<void> {
  try {
    const stats = await (await fetch(`http://127.0.0.1:${port}/stats`)).json() as
      | { exports: number; bytes: number }
      | { snapshots: number; bytes: number };
    const note = "snapshots" in stats
      ? `dashboard page got ${stats.snapshots} snapshot(s), ${stats.bytes} bytes`
      : `otlp sink got ${stats.exports} export(s), ${stats.bytes} bytes`;
    const none = "snapshots" in stats ? stats.snapshots === 0 : stats.exports === 0;
    opts.log(`  ${note}${none ? " (nothing arrived: is it wired up?)" : ""}`);
    for (const r of rows) r.note = r.note === "" ? note : `${r.note}; ${note}`;
  } catch (err) {
    opts.log(`  otlp sink stats unavailable: ${err instanceof Error ? err.message : String(err)}`);
  }
}

async function measure(
  scenario: string,
  runtime: RuntimeName,
  concurrency: number,
  argv: string[],
  tracked: readonly Tracked[],
  opts: RunOptions,
): Promise<Row> {
  const load = new Child(`${scenario}/load c=${concurrency}`, argv, childEnv());
  const startMs = (opts.warmupS + 30) * 1000;
  const started = load.waitFor(/^load start$/, startMs);
  const finished = load.waitFor(/^\{"result":/, startMs + (opts.durationS + 30) * 1000);
  finished.catch(() => {});
  try {
    await started;
    const cpu0 = sample(tracked, cpuTimeUs);
    const host0 = hostBusyUs();
    const t0 = performance.now();
    const line = await finished;
    const cpu1 = sample(tracked, cpuTimeUs);
    const hostUs = hostBusyUs() - host0;
    const windowUs = (performance.now() - t0) * 1000;
    const rss = sample(tracked, rssMiB);
    const r = (JSON.parse(line) as { result: LoadResult }).result;
    const cpuUsPerReq: Partial<Record<Column, number>> = { load: r.loadCpuUs / r.requests };
    for (const t of tracked) {
      cpuUsPerReq[t.column] = ((cpu1[t.column] ?? 0) - (cpu0[t.column] ?? 0)) / r.requests;
    }
    // CPU the rest of the machine used meanwhile: other work on a shared box skews every number
    const columns = new Set(tracked.map((t) => t.column));
    const oursUs = r.loadCpuUs + [...columns].reduce((sum, c) => sum + (cpu1[c] ?? 0) - (cpu0[c] ?? 0), 0);
    const host = { busyCores: hostUs / windowUs, otherCores: Math.max(0, hostUs - oursUs) / windowUs };
    const dead = tracked.filter((t) => !t.child.running).map((t) => t.child.name);
    const problems = [
      r.requests === 0 ? "no successful requests" : "",
      r.errors > 0 ? `${r.errors} errors` : "",
      r.non2xx > 0 ? `${r.non2xx} non-2xx` : "",
      dead.length > 0 ? `exited during load: ${dead.join(", ")}` : "",
    ].filter((p) => p !== "");
    const status = problems.length === 0 ? "ok" : "failed";
    opts.log(
      `  ${scenario} ${runtime} c=${concurrency}: ${Math.round(r.reqPerSec)} req/s, p50 ${r.p50Us} µs, ` +
        `p99 ${r.p99Us} µs${problems.length > 0 ? ` FAILED: ${problems.join("; ")}` : ""}`,
    );
    return {
      scenario,
      runtime,
      concurrency,
      status,
      note: problems.join("; "),
      result: r,
      cpuUsPerReq,
      rssMiB: rss,
      host,
    };
  } catch (err) {
    const note = `failed: ${err instanceof Error ? err.message : String(err)}`;
    opts.log(`  ${scenario} ${runtime} c=${concurrency}: ${note}`);
    return { scenario, runtime, concurrency, status: "failed", note };
  } finally {
    await load.stop();
  }
}
