/** Machine and toolchain facts recorded next to every result. */
import process from "node:process";
import { availableParallelism } from "node:os";
import { execFileSync, spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";

function firstLine(cmd: string, args: string[]): string {
  try {
    return execFileSync(cmd, args, { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).split("\n")[0]!
      .trim();
  } catch {
    return "unavailable";
  }
}

function cpuModel(): string {
  try {
    return /^model name\s*:\s*(.+)$/m.exec(readFileSync("/proc/cpuinfo", "utf8"))?.[1] ?? "unknown";
  } catch {
    return "unknown";
  }
}

export interface MachineInfo {
  nproc: number;
  cpuModel: string;
  node: string;
  deno: string;
  bun: string;
  natsServer: string;
  autocannon: string;
  /** `wrk <version>`, or "unavailable". */
  wrk: string;
  moleculer: string;
}

function packageVersion(name: string): string {
  try {
    return (JSON.parse(readFileSync(`node_modules/${name}/package.json`, "utf8")) as { version: string })
      .version;
  } catch {
    return "unknown";
  }
}

function wrkVersion(): string {
  // wrk --version prints its version, then its usage, and exits 1
  const r = spawnSync("wrk", ["--version"], { encoding: "utf8" });
  return r.error === undefined ? (/^wrk \S+/.exec(r.stdout)?.[0] ?? "wrk") : "unavailable";
}

/** Collects nproc, the CPU model and the versions of the runtimes on PATH. */
export function machineInfo(): MachineInfo {
  return {
    nproc: availableParallelism(),
    cpuModel: cpuModel(),
    node: firstLine("node", ["--version"]),
    deno: firstLine("deno", ["--version"]),
    bun: firstLine("bun", ["--version"]),
    natsServer: firstLine(process.env["NATS_SERVER_BIN"] ?? "nats-server", ["--version"]),
    autocannon: packageVersion("autocannon"),
    wrk: wrkVersion(),
    moleculer: `${packageVersion("moleculer")} (moleculer-web ${packageVersion("moleculer-web")}, nats ${
      packageVersion("nats")
    })`,
  };
}
