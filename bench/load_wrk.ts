/**
 * HTTP load in its own process with wrk (Debian's `wrk` package), the same contract as
 * load_http.ts: an optional warm-up run, then `load start`, then one measured wrk run and one JSON
 * line `{"result": LoadResult}`. bench/wrk_post.lua sets the POST body and prints wrk's counts,
 * latency percentiles (µs) and its own CPU time, read from /proc/self/stat just before it exits, so
 * `loadCpuUs` is wrk's CPU (this wrapper only waits meanwhile).
 *
 *   node bench/load_wrk.ts --url http://127.0.0.1:8080/v1/hello/greet [-c 64] [-d 10] [--warmup 1] [--threads 1]
 * @module
 */
import process from "node:process";
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { ticksToUs } from "./proc_stats.ts";
import type { LoadResult } from "./load_result.ts";

/** What bench/wrk_post.lua prints from wrk's `done()`. */
interface WrkSummary {
  requests: number;
  durationUs: number;
  connect: number;
  read: number;
  write: number;
  /** Responses with a status above 399. */
  status: number;
  timeout: number;
  p50Us: number;
  p99Us: number;
  cpuTicks: number;
}

const SCRIPT = fileURLToPath(new URL("./wrk_post.lua", import.meta.url));

const { values } = parseArgs({
  args: process.argv.slice(2),
  options: {
    url: { type: "string" },
    body: { type: "string", default: JSON.stringify({ name: "World" }) },
    connections: { type: "string", short: "c", default: "64" },
    duration: { type: "string", short: "d", default: "10" },
    warmup: { type: "string", default: "0" },
    // one thread leaves the other core to the servers on a 2-core box; it drives 64 connections easily
    threads: { type: "string", short: "t", default: "1" },
  },
});
if (values.url === undefined) throw new TypeError("--url is required");
const url = values.url;
const connections = Math.max(1, Number(values.connections));
const threads = Math.min(connections, Math.max(1, Number(values.threads)));

/** Runs wrk for `seconds` (whole seconds: wrk takes no fraction) and returns its summary line. */
function runWrk(seconds: number): Promise<WrkSummary> {
  const args = [
    ...["-t", String(threads), "-c", String(connections)],
    ...["-d", `${Math.max(1, Math.round(seconds))}s`, "--timeout", "10s", "-s", SCRIPT, url],
  ];
  return new Promise((resolve, reject) => {
    const proc = spawn("wrk", args, {
      env: { ...process.env, WRK_BODY: values.body },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    proc.stdout.setEncoding("utf8").on("data", (chunk: string) => (out += chunk));
    proc.stderr.setEncoding("utf8").on("data", (chunk: string) => (out += chunk));
    proc.on("error", reject);
    proc.on("close", (code) => {
      const line = out.split("\n").find((l) => l.startsWith('{"wrk":'));
      if (code !== 0 || line === undefined) {
        reject(new Error(`wrk ${args.join(" ")} exited with ${code}: ${out.trim().slice(-500)}`));
        return;
      }
      resolve((JSON.parse(line) as { wrk: WrkSummary }).wrk);
    });
  });
}

const warmup = Number(values.warmup);
if (warmup > 0) await runWrk(warmup);

process.stdout.write("load start\n");
const w = await runWrk(Number(values.duration));
const durationS = w.durationUs / 1e6;
// wrk counts every response in `requests`; those above 399 are also its status errors
const ok = w.requests - w.status;
const result: LoadResult = {
  requests: ok,
  non2xx: w.status,
  errors: w.connect + w.read + w.write + w.timeout,
  durationS,
  reqPerSec: ok / durationS,
  p50Us: w.p50Us,
  p99Us: w.p99Us,
  loadCpuUs: w.cpuTicks < 0 ? Number.NaN : ticksToUs(w.cpuTicks),
};
process.stdout.write(`${JSON.stringify({ result })}\n`);
process.exit(0);
