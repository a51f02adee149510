/** Machine and toolchain facts recorded next to every result. */
import process from "node:process";
import { availableParallelism } from "node:os";
import { execFileSync } from "node:child_process";
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
}

/** Collects nproc, the CPU model and the versions of the runtimes on PATH. */
export function machineInfo(): MachineInfo {
  let autocannon = "unknown";
  try {
    const pkg = JSON.parse(readFileSync("node_modules/autocannon/package.json", "utf8")) as {
      version: string;
    };
    autocannon = pkg.version;
  } catch {
    // leave "unknown"
  }
  return {
    nproc: availableParallelism(),
    cpuModel: cpuModel(),
    node: firstLine("node", ["--version"]),
    deno: firstLine("deno", ["--version"]),
    bun: firstLine("bun", ["--version"]),
    natsServer: firstLine(process.env["NATS_SERVER_BIN"] ?? "nats-server", ["--version"]),
    autocannon,
  };
}
