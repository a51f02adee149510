/**
 * What one measured window of the discovery benchmark reads at its start and end: nats-server's
 * message and byte counters (`/varz`), the CPU time of every process involved (/proc), the busy
 * time of the whole machine, and the routers' looks as the simulator counts them: `$SRV.PING`
 * broadcasts (polls; an announce router's full roll calls) and `$SRV.PING.<first plugin>` (roll calls).
 * @module
 */
import process from "node:process";
import { cpuTimeUs, hostBusyUs } from "../proc_stats.ts";

/** nats-server's totals since it started. */
export interface Varz {
  in_msgs: number;
  out_msgs: number;
  in_bytes: number;
  out_bytes: number;
  /** Clients the server cut off because they did not read fast enough. */
  slow_consumers: number;
}

/** The monitoring endpoint's `/varz` counters. */
export async function fetchVarz(monitorUrl: string): Promise<Varz> {
  const res = await fetch(`${monitorUrl}/varz`, { signal: AbortSignal.timeout(10_000) });
  const v = await res.json() as Varz;
  return {
    in_msgs: v.in_msgs,
    out_msgs: v.out_msgs,
    in_bytes: v.in_bytes,
    out_bytes: v.out_bytes,
    slow_consumers: v.slow_consumers ?? 0,
  };
}

/** The processes a window accounts for. */
export interface WindowPids {
  routers: readonly number[];
  sim: number;
  nats: number;
}

/** One reading; two of them make a window. */
export interface Sample {
  atMs: number;
  varz: Varz;
  routersUs: number[];
  simUs: number;
  natsUs: number;
  /** The benchmark runner itself. */
  selfUs: number;
  hostUs: number;
  polls: number;
  rollCalls: number;
}

/** Reads everything at (nearly) one moment: `/varz` first, then /proc, which takes microseconds. */
export async function takeSample(
  monitorUrl: string,
  pids: WindowPids,
  looks: { polls: number; rollCalls: number },
): Promise<Sample> {
  const varz = await fetchVarz(monitorUrl);
  const self = process.cpuUsage();
  return {
    atMs: performance.now(),
    varz,
    routersUs: pids.routers.map(cpuTimeUs),
    simUs: cpuTimeUs(pids.sim),
    natsUs: cpuTimeUs(pids.nats),
    selfUs: self.user + self.system,
    hostUs: hostBusyUs(),
    polls: looks.polls,
    rollCalls: looks.rollCalls,
  };
}

/** Rates and CPU shares over a window. CPU shares are fractions of one core (1 = one core busy). */
export interface WindowMeasure {
  seconds: number;
  /** `$SRV.PING` broadcasts in the window: polls, or an announce router's full roll calls. */
  polls: number;
  /** Roll calls in the window (each asks every known plugin's `$SRV.PING.<name>`). */
  rollCalls: number;
  inMsgsPerS: number;
  outMsgsPerS: number;
  inBytesPerS: number;
  outBytesPerS: number;
  /** Messages (in + out at the server) per router poll; NaN without a poll in the window. */
  msgsPerPoll: number;
  /** Bytes (in + out) per router poll. */
  bytesPerPoll: number;
  routerCores: number[];
  /** CPU ms all routers spent per poll (one router's poll, on average). */
  routerCpuMsPerPoll: number;
  /** Mean time from one poll of a router to its next: the interval plus the poll itself. */
  pollPeriodS: number;
  simCores: number;
  natsCores: number;
  /** Clients nats-server cut off as slow consumers during the window. */
  slowConsumers: number;
  /** What the rest of the machine used meanwhile: the load this run shared the box with. */
  otherCores: number;
}

/** The window between two samples. */
export function measureWindow(start: Sample, end: Sample): WindowMeasure {
  const seconds = (end.atMs - start.atMs) / 1000;
  const us = seconds * 1e6;
  const d = (k: keyof Varz) => end.varz[k] - start.varz[k];
  const polls = end.polls - start.polls;
  const routerUs = end.routersUs.map((u, i) => u - start.routersUs[i]!);
  const ours = routerUs.reduce((a, b) => a + b, 0) + (end.simUs - start.simUs) + (end.natsUs - start.natsUs) +
    (end.selfUs - start.selfUs);
  return {
    seconds,
    polls,
    rollCalls: end.rollCalls - start.rollCalls,
    inMsgsPerS: d("in_msgs") / seconds,
    outMsgsPerS: d("out_msgs") / seconds,
    inBytesPerS: d("in_bytes") / seconds,
    outBytesPerS: d("out_bytes") / seconds,
    msgsPerPoll: polls === 0 ? Number.NaN : (d("in_msgs") + d("out_msgs")) / polls,
    bytesPerPoll: polls === 0 ? Number.NaN : (d("in_bytes") + d("out_bytes")) / polls,
    routerCores: routerUs.map((u) => u / us),
    routerCpuMsPerPoll: polls === 0 ? Number.NaN : routerUs.reduce((a, b) => a + b, 0) / 1000 / polls,
    pollPeriodS: polls === 0 ? Number.NaN : (seconds * routerUs.length) / polls,
    simCores: (end.simUs - start.simUs) / us,
    slowConsumers: d("slow_consumers"),
    natsCores: (end.natsUs - start.natsUs) / us,
    otherCores: Math.max(0, (end.hostUs - start.hostUs - ours) / us),
  };
}
