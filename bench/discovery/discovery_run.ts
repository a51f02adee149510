/**
 * The discovery benchmark: for each N, a nats-server with monitoring, N simulated instances in one
 * process, then R router processes for each R (ascending; routers are kept from one R to the next).
 * Per row: once every router knows every instance, a window measures the bus traffic (`/varz`
 * deltas: nothing but discovery runs), the CPU of each process and the polls; then a NEW router is
 * started and timed until it knows all N (it stays as one of the next row's routers).
 * @module
 */
import process from "node:process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startNatsServer } from "../../src/testing/mod.ts";
import type { NatsServer } from "../../src/testing/mod.ts";
import { Child } from "../child_procs.ts";
import { rssMiB } from "../proc_stats.ts";
import { runtimeArgv } from "../scenarios.ts";
import type { RuntimeName } from "../scenarios.ts";
import { discoveryIntervalMs, discoveryMode } from "./discovery_options.ts";
import type { DiscoveryArgs } from "./discovery_options.ts";
import { RouterProcess } from "./router_process.ts";
import type { Reached } from "./router_process.ts";
import { measureWindow, takeSample } from "./window_sample.ts";
import type { WindowMeasure } from "./window_sample.ts";

/** One row: N instances, R routers, one discovery config. */
export interface DiscoveryRow {
  mode: string;
  intervalMs: number;
  runtime: RuntimeName;
  instances: number;
  routers: number;
  window?: WindowMeasure;
  /** Mean RSS of the R routers at the window's end, MiB. */
  routerRssMiB?: number;
  /** The fewest live instances any router listed (`GET /v1/plugins`) at the window's end. */
  knownMin?: number;
  /**
   * Summed over the R routers during the window: instances dropped for missing health checks, and
   * admissions (of instances dropped before). Both 0 when discovery keeps up.
   */
  churn?: { dropped: number; joined: number };
  /** The new router: spawn → `router ready`, and spawn → knows all N (with its CPU time then). */
  join?: { readyMs: number | undefined; reached: Reached | undefined };
  status: "ok" | "incomplete" | "failed";
  note: string;
}

/** Routers started at once when R grows (each one's first poll fetches every INFO). */
const START_BATCH = 5;
const START_TIMEOUT_MS = 60_000;

/** Runs the grid; never throws, a failure becomes a `failed` row. */
export async function runDiscoveryGrid(
  args: DiscoveryArgs,
  log: (line: string) => void,
): Promise<DiscoveryRow[]> {
  const rows: DiscoveryRow[] = [];
  const dir = mkdtempSync(join(tmpdir(), "sy-bench-discovery-"));
  const configPath = join(dir, "router.json");
  writeFileSync(configPath, JSON.stringify({ discovery: args.config }));
  try {
    for (const n of args.instances) rows.push(...await runInstances(n, args, configPath, log));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return rows;
}

async function runInstances(
  n: number,
  args: DiscoveryArgs,
  configPath: string,
  log: (line: string) => void,
): Promise<DiscoveryRow[]> {
  const intervalMs = discoveryIntervalMs(args.config);
  /** How long routers may take to know every instance: a few polls. */
  const knowTimeoutMs = Math.max(20_000, 4 * intervalMs);
  const base = { mode: discoveryMode(args.config), intervalMs, runtime: args.runtime, instances: n };
  const rows: DiscoveryRow[] = [];
  let nats: NatsServer | undefined;
  let sim: Child | undefined;
  const routers: RouterProcess[] = [];
  const startRouter = () =>
    new RouterProcess({
      runtime: args.runtime,
      natsUrl: nats!.url,
      configPath,
      name: `router ${routers.length + 1}`,
      target: n,
    });
  try {
    nats = await startNatsServer({ monitoring: true });
    const simArgs = [
      "--nats",
      nats.url,
      "--instances",
      String(n),
      "--plugins",
      String(args.plugins),
      "--report-polls",
    ];
    sim = new Child(
      "sim",
      runtimeArgv(args.runtime, "bench/discovery/sim_instances.ts", simArgs),
      process.env,
    );
    const polls = new PollCount();
    sim.onLine((line) => {
      if (line.includes('"sim polled"')) polls.add();
    });
    await sim.waitFor(/"sim ready"/, START_TIMEOUT_MS);
    log(`N=${n}: ${n} simulated instances ready`);
    for (const r of args.routers) {
      const notes: string[] = [];
      while (routers.length < r) {
        const batch = Array.from({ length: Math.min(START_BATCH, r - routers.length) }, () => {
          const router = startRouter();
          routers.push(router);
          return router;
        });
        await Promise.all(batch.map((router) => router.ready(START_TIMEOUT_MS)));
      }
      const measured = routers.slice(0, r);
      const knew = await Promise.all(measured.map((router) => router.whenKnowsAll(knowTimeoutMs)));
      const short = knew.filter((k) => k === undefined).length;
      if (short > 0) notes.push(`${short} router(s) did not know all ${n} within ${knowTimeoutMs / 1000} s`);
      log(
        `N=${n} R=${r}: ${
          r - short
        }/${r} routers know all ${n}; ${args.settleS} s settle, ${args.windowS} s window`,
      );
      await sleep(args.settleS * 1000);
      const steady = await measureSteadyState(measured, {
        monitorUrl: nats.monitorUrl!,
        sim: sim.pid,
        nats: nats.pid,
      }, {
        windowS: args.windowS,
        polls,
        intervalMs,
        notes,
      });
      // a new router, timed until it knows every instance; it stays for the next R
      const newcomer = startRouter();
      routers.push(newcomer);
      await newcomer.ready(START_TIMEOUT_MS);
      const reached = await newcomer.whenKnowsAll(knowTimeoutMs);
      if (reached === undefined) {
        notes.push(`the new router knew ${newcomer.known}/${n} after ${knowTimeoutMs / 1000} s`);
      } else {
        // its log said so; its catalog must agree
        const listed = await newcomer.fetchKnown().catch(() => Number.NaN);
        if (!(listed >= n)) notes.push(`the new router logged ${n} admissions but listed ${listed}`);
      }
      if (steady.knownMin < n) notes.push(`a router listed ${steady.knownMin}/${n} at the window's end`);
      const row: DiscoveryRow = {
        ...base,
        routers: r,
        ...steady,
        join: { readyMs: newcomer.readyMs, reached },
        status: notes.length === 0 ? "ok" : "incomplete",
        note: notes.join("; "),
      };
      rows.push(row);
      log(summary(row));
    }
  } catch (err) {
    const note = err instanceof Error ? err.message : String(err);
    log(`N=${n}: failed: ${note}`);
    for (const r of args.routers.filter((r) => !rows.some((row) => row.routers === r))) {
      rows.push({ ...base, routers: r, status: "failed", note });
    }
  } finally {
    await Promise.all(routers.map((router) => router.stop()));
    await sim?.stop();
    await nats?.stop();
  }
  return rows;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));

/** The routers' polls, as the simulator reports each `$SRV.PING` broadcast. */
class PollCount {
  count = 0;
  readonly #waiters = new Set<() => void>();

  add(): void {
    this.count++;
    for (const wake of this.#waiters) wake();
    this.#waiters.clear();
  }

  /** Resolves true at the next poll, false after `timeoutMs` without one. */
  next(timeoutMs: number): Promise<boolean> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#waiters.delete(wake);
        resolve(false);
      }, timeoutMs);
      const wake = () => {
        clearTimeout(timer);
        resolve(true);
      };
      this.#waiters.add(wake);
    });
  }
}

/** What one window measures of R routers that know every instance (or tried to). */
async function measureSteadyState(
  routers: readonly RouterProcess[],
  processes: { monitorUrl: string; sim: number; nats: number },
  options: { windowS: number; intervalMs: number; polls: PollCount; notes: string[] },
): Promise<Required<Pick<DiscoveryRow, "window" | "routerRssMiB" | "knownMin" | "churn">>> {
  const pids = { routers: routers.map((x) => x.pid), sim: processes.sim, nats: processes.nats };
  const churnOf = () => ({
    dropped: routers.reduce((a, x) => a + x.silentDrops, 0),
    joined: routers.reduce((a, x) => a + x.joins, 0),
  });
  const churn0 = churnOf();
  // Both ends half an interval after a poll began: with one router, between two polls, so the
  // window holds whole polls. A mode that sends no $SRV.PING, or a window shorter than an interval
  // (the smoke run's), gets a plain time window.
  const { polls, intervalMs } = options;
  const aligned = options.windowS * 1000 >= intervalMs && await polls.next(1.5 * intervalMs);
  if (aligned) await sleep(intervalMs / 2);
  const start = await takeSample(processes.monitorUrl, pids, polls.count);
  await sleep(options.windowS * 1000 - (aligned ? intervalMs / 2 : 0));
  if (aligned && await polls.next(1.5 * intervalMs)) await sleep(intervalMs / 2);
  const end = await takeSample(processes.monitorUrl, pids, polls.count);
  const churn1 = churnOf();
  const window = measureWindow(start, end);
  if (window.slowConsumers > 0) {
    options.notes.push(`nats-server cut off ${window.slowConsumers} slow consumer(s)`);
  }
  const rss = routers.map((x) => rssMiB(x.pid));
  // after the window, so that building the listings is not in it
  const known = await Promise.all(routers.map((x) =>
    x.fetchKnown().catch((err) => {
      options.notes.push(`GET /v1/plugins of ${x.child.name} failed: ${String(err)}`);
      return Number.NaN;
    })
  ));
  return {
    window,
    routerRssMiB: rss.reduce((a, b) => a + b, 0) / rss.length,
    knownMin: Math.min(...known),
    churn: { dropped: churn1.dropped - churn0.dropped, joined: churn1.joined - churn0.joined },
  };
}

function summary(row: DiscoveryRow): string {
  const w = row.window!;
  const mean = w.routerCores.reduce((a, b) => a + b, 0) / w.routerCores.length;
  const join = row.join?.reached === undefined ? "not all known" : `${Math.round(row.join.reached.ms)} ms`;
  return `N=${row.instances} R=${row.routers}: ${Math.round(w.inMsgsPerS + w.outMsgsPerS)} msgs/s, ` +
    `router CPU ${(mean * 100).toFixed(1)} %, new router knows all in ${join}${
      row.note === "" ? "" : ` (${row.note})`
    }`;
}
