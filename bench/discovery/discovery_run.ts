/**
 * The discovery benchmark: for each mode and each N, a nats-server with monitoring, N simulated
 * instances in one process, then R router processes for each R (ascending; routers are kept from
 * one R to the next). Per row: once every router knows every instance, a window measures the bus
 * traffic (`/varz` deltas: nothing but discovery runs), the CPU of each process and the routers'
 * looks; then a NEW router is started and timed until it knows all N (it stays as one of the next
 * row's routers).
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
import { modePlan } from "./discovery_options.ts";
import type { DiscoveryArgs, DiscoveryModeName, ModePlan } from "./discovery_options.ts";
import { RouterProcess } from "./router_process.ts";
import type { Reached } from "./router_process.ts";
import { measureWindow, takeSample } from "./window_sample.ts";
import { modeRates } from "./mode_rates.ts";
import type { WindowMeasure } from "./window_sample.ts";

/** One row: N instances, R routers, one discovery mode and config. */
export interface DiscoveryRow {
  mode: DiscoveryModeName;
  /** How often a router looks: the poll interval, or the roll call period. */
  periodMs: number;
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
  /**
   * The new router: spawn → `router ready`, spawn → its first look (the first `$SRV.PING` broadcast
   * from an inbox not seen before), and spawn → knows all N (with its CPU time then).
   */
  join?: { readyMs: number | undefined; firstLookMs: number | undefined; reached: Reached | undefined };
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
  try {
    for (const mode of args.modes) {
      const plan = modePlan(args, mode);
      const configPath = join(dir, `router-${mode}.json`);
      writeFileSync(configPath, JSON.stringify({ discovery: plan.config }));
      for (const n of args.instances) rows.push(...await runInstances(n, plan, args, configPath, log));
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return rows;
}

async function runInstances(
  n: number,
  plan: ModePlan,
  args: DiscoveryArgs,
  configPath: string,
  log: (line: string) => void,
): Promise<DiscoveryRow[]> {
  const { mode, periodMs } = plan;
  /** How long routers may take to know every instance: a few looks, a minute at most. */
  const knowTimeoutMs = Math.max(20_000, Math.min(4 * periodMs, 65_000));
  const base = { mode, periodMs, runtime: args.runtime, instances: n };
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
    const looks = new LookCount();
    sim.onLine((line) => looks.onSimLine(line));
    await sim.waitFor(/"sim ready"/, START_TIMEOUT_MS);
    log(`${mode} N=${n}: ${n} simulated instances ready`);
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
        `${mode} N=${n} R=${r}: ${
          r - short
        }/${r} routers know all ${n}; ${plan.settleS} s settle, ${plan.windowS} s window`,
      );
      await sleep(plan.settleS * 1000);
      const steady = await measureSteadyState(measured, {
        monitorUrl: nats.monitorUrl!,
        sim: sim.pid,
        nats: nats.pid,
      }, {
        windowS: plan.windowS,
        looks,
        aligned: mode === "poll",
        periodMs,
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
      const firstLook = looks.firstBroadcastSince(newcomer.spawnedAt);
      const row: DiscoveryRow = {
        ...base,
        routers: r,
        ...steady,
        join: {
          readyMs: newcomer.readyMs,
          firstLookMs: firstLook === undefined ? undefined : firstLook - newcomer.spawnedAt,
          reached,
        },
        status: notes.length === 0 ? "ok" : "incomplete",
        note: notes.join("; "),
      };
      rows.push(row);
      log(summary(row));
    }
  } catch (err) {
    const note = err instanceof Error ? err.message : String(err);
    log(`${mode} N=${n}: failed: ${note}`);
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

/**
 * The routers' looks, as the simulator reports them: each `$SRV.PING` broadcast (a poll, or an
 * announce router's first or full roll call) with when its asker's inbox was first seen, and each
 * roll call (`$SRV.PING.<first plugin>`).
 */
export class LookCount {
  polls = 0;
  rollCalls = 0;
  /** Inbox prefix (`_INBOX.<connection>`) → when its first broadcast came (performance.now()). */
  readonly firstSeen = new Map<string, number>();
  readonly #waiters = new Set<() => void>();

  /** Counts one line of the simulator's stdout (other lines are ignored). */
  onSimLine(line: string, atMs = performance.now()): void {
    if (!line.startsWith("{")) return;
    let entry: { msg?: unknown; reply?: unknown };
    try {
      entry = JSON.parse(line) as typeof entry;
    } catch {
      return;
    }
    if (entry.msg === "sim roll call") this.rollCalls++;
    if (entry.msg !== "sim polled") return;
    const inbox = String(entry.reply ?? "").split(".").slice(0, 2).join(".");
    if (!this.firstSeen.has(inbox)) this.firstSeen.set(inbox, atMs);
    this.polls++;
    for (const wake of this.#waiters) wake();
    this.#waiters.clear();
  }

  /** When an inbox first seen at or after `sinceMs` (a router started then) first broadcast. */
  firstBroadcastSince(sinceMs: number): number | undefined {
    const times = [...this.firstSeen.values()].filter((t) => t >= sinceMs);
    return times.length === 0 ? undefined : Math.min(...times);
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
  options: { windowS: number; periodMs: number; aligned: boolean; looks: LookCount; notes: string[] },
): Promise<Required<Pick<DiscoveryRow, "window" | "routerRssMiB" | "knownMin" | "churn">>> {
  const pids = { routers: routers.map((x) => x.pid), sim: processes.sim, nats: processes.nats };
  const churnOf = () => ({
    dropped: routers.reduce((a, x) => a + x.silentDrops, 0),
    joined: routers.reduce((a, x) => a + x.joins, 0),
  });
  const churn0 = churnOf();
  // Polling, both ends half an interval after a poll began: with one router, between two polls, so
  // the window holds whole polls. Roll calls (one period per window: each router's once), or a
  // window shorter than an interval (the smoke run's), get a plain time window.
  const { looks, periodMs } = options;
  const aligned = options.aligned && options.windowS * 1000 >= periodMs && await looks.next(1.5 * periodMs);
  if (aligned) await sleep(periodMs / 2);
  const start = await takeSample(processes.monitorUrl, pids, looks);
  await sleep(options.windowS * 1000 - (aligned ? periodMs / 2 : 0));
  if (aligned && await looks.next(1.5 * periodMs)) await sleep(periodMs / 2);
  const end = await takeSample(processes.monitorUrl, pids, looks);
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
  const rates = modeRates(row.mode, row.window!);
  const reached = row.join?.reached;
  const join = reached === undefined
    ? "not all known"
    : `${Math.round(reached.ms)} ms after its spawn${
      row.join?.firstLookMs === undefined
        ? ""
        : `, ${Math.round(reached.ms - row.join.firstLookMs)} ms after its first look`
    }`;
  const cost = Number.isNaN(rates.factor)
    ? "no roll call in the window"
    : `${Math.round(rates.msgsPerS)} msgs/s, ${Math.round(rates.bytesPerS / 1024)} KiB/s, router CPU ` +
      `${rates.routerCpuPct.mean.toFixed(2)} % (amortised ×${rates.factor.toFixed(2)})`;
  return `${row.mode} N=${row.instances} R=${row.routers}: ${cost}, new router knows all ${join}${
    row.note === "" ? "" : ` (${row.note})`
  }`;
}
