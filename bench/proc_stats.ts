/**
 * CPU time and memory of a process from Linux /proc: utime+stime of all its threads
 * (/proc/<pid>/stat, fields 14 and 15, in clock ticks) and VmRSS (/proc/<pid>/status).
 * @module
 */
import { readFileSync } from "node:fs";
import { execFileSync } from "node:child_process";

function clockTicksPerSecond(): number {
  try {
    const n = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim());
    return Number.isFinite(n) && n > 0 ? n : 100;
  } catch {
    return 100;
  }
}

const CLK_TCK = clockTicksPerSecond();

/** µs in `ticks` clock ticks (the unit of /proc's CPU times). */
export function ticksToUs(ticks: number): number {
  return (ticks * 1e6) / CLK_TCK;
}

/** User + system CPU time used so far by process `pid`, in µs; NaN when it is gone. */
export function cpuTimeUs(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // the command name (field 2) may contain spaces: count fields after its closing parenthesis
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const ticks = Number(fields[11]) + Number(fields[12]);
    return ticksToUs(ticks);
  } catch {
    return Number.NaN;
  }
}

/** Resident set size of process `pid` in MiB; NaN when it is gone. */
export function rssMiB(pid: number): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
    return m?.[1] === undefined ? Number.NaN : Number(m[1]) / 1024;
  } catch {
    return Number.NaN;
  }
}

/** CPU time all processes of the machine spent busy so far (every CPU, /proc/stat), in µs. */
export function hostBusyUs(): number {
  try {
    const line = readFileSync("/proc/stat", "utf8").split("\n")[0] ?? "";
    // cpu user nice system idle iowait irq softirq steal ...
    const t = line.trim().split(/\s+/).slice(1).map(Number);
    const busy = (t[0] ?? 0) + (t[1] ?? 0) + (t[2] ?? 0) + (t[5] ?? 0) + (t[6] ?? 0) + (t[7] ?? 0);
    return (busy * 1e6) / CLK_TCK;
  } catch {
    return Number.NaN;
  }
}
