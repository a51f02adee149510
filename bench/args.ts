/** Command-line options of bench/run.ts. */
import process from "node:process";
import { spawnSync } from "node:child_process";
import { parseArgs } from "node:util";
import { RUNTIMES, SCENARIOS } from "./scenarios.ts";
import type { RuntimeName } from "./scenarios.ts";
import { DISCOVERY_GROUP, parseDiscoveryArgs } from "./discovery/discovery_options.ts";
import type { DiscoveryArgs } from "./discovery/discovery_options.ts";
import { parseStreamingArgs, STREAMING_GROUP } from "./streaming/stream_options.ts";
import type { StreamingArgs } from "./streaming/stream_options.ts";

export interface BenchOptions {
  smoke: boolean;
  durationS: number;
  warmupS: number;
  /**
   * Seconds of load at {@linkcode JIT_WARMUP_CONCURRENCY} in flight once per scenario, before its
   * first measured load, so that the runtimes' JITs have compiled the request path (0: none).
   */
  jitWarmupS: number;
  concurrencies: number[];
  repeat: number;
  runtimes: RuntimeName[];
  scenarios: string[];
  out: string;
  /** Cold start, idle RSS and hot swap per runtime (bench/lifecycle.ts). */
  lifecycle: boolean;
  /** The HTTP load generator: wrk (bench/load_wrk.ts) or autocannon (bench/load_http.ts). */
  load: LoadGenerator;
  /** The `discovery` group's grid and router config (bench/discovery/), when it is among `scenarios`. */
  discovery: DiscoveryArgs;
  /** The `streaming` group's stream size and bound (bench/streaming/), when it is among `scenarios`. */
  streaming: StreamingArgs;
}

export type LoadGenerator = "wrk" | "autocannon";

/**
 * Requests in flight during the JIT warm-up. The JITs tier code up by how often it ran, not for how
 * long: at one request at a time a few seconds leave much of a router's code unoptimised (Bun's
 * compiler thread still spent 50-60 µs a request compiling 3 s into a c=1 load), and the measurement
 * then counts compilation rather than the request path.
 */
export const JIT_WARMUP_CONCURRENCY = 64;

/** Whether a `wrk` binary runs here. */
export function wrkAvailable(): boolean {
  const r = spawnSync("wrk", ["--version"], { stdio: "ignore" });
  // wrk --version exits 1 after printing its version; only a spawn error means it is missing
  return r.error === undefined;
}

export const USAGE =
  `usage: node bench/run.ts [--smoke] [--duration S] [--warmup S] [--jit-warmup S] [--concurrency 1,64] [--repeat N]
                         [--runtimes deno,bun,node] [--scenarios a,b] [--out bench/out/results.json]
                         [--skip-lifecycle] [--load auto|wrk|autocannon]
                         [--n 100,1000,5000] [--r 1,5,20] [--discovery-modes poll,announce]
                         [--discovery-config JSON] [--discovery-window S] [--discovery-runtime bun]
                         [--discovery-plugins 10] [--stream-items 200000]
--warmup: unmeasured load before each measured one, at its concurrency (default: duration / 5, 1 to 2 s)
--jit-warmup: load at ${JIT_WARMUP_CONCURRENCY} in flight once per scenario before its first measured load, so
  the JITs have compiled the request path before a load at 1 in flight is measured (default 5 s, 0 with --smoke)
--load: HTTP load generator (default: $SWITCHYARD_BENCH_LOAD, else auto = wrk when installed)
scenarios: ${SCENARIOS.map((s) => s.name).join(", ")}
  and the group "${DISCOVERY_GROUP}" (only when named; --smoke runs it at N=50, R=1): N simulated instances,
  R routers in each of --discovery-modes (default poll,announce) with the rest of the router config's
  "discovery" from --discovery-config (default {}), bus traffic per second, router CPU and a new
  router's time to know all N, and the two modes side by side (bench/discovery/)
  and the group "${STREAMING_GROUP}" (also in --smoke, with 5,000 items): one stream of --stream-items items
  through the router and a streaming plugin against the same items on raw NATS, items/s and CPU per item
  (bench/streaming/)`;

function list(value: string): string[] {
  return value.split(",").map((s) => s.trim()).filter((s) => s !== "");
}

function positive(name: string, value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) {
    throw new RangeError(`--${name} must be a non-negative number, got "${value}"`);
  }
  return n;
}

/** Parses argv; throws a RangeError naming the bad option. */
export function parseBenchArgs(argv: string[]): BenchOptions | "help" {
  const { values } = parseArgs({
    args: argv,
    options: {
      smoke: { type: "boolean", default: false },
      duration: { type: "string" },
      warmup: { type: "string" },
      "jit-warmup": { type: "string" },
      concurrency: { type: "string" },
      repeat: { type: "string", default: "1" },
      runtimes: { type: "string", default: RUNTIMES.join(",") },
      scenarios: { type: "string" },
      out: { type: "string", default: "bench/out/results.json" },
      "skip-lifecycle": { type: "boolean", default: false },
      load: { type: "string", default: process.env["SWITCHYARD_BENCH_LOAD"] ?? "auto" },
      n: { type: "string" },
      r: { type: "string" },
      "discovery-modes": { type: "string" },
      "discovery-config": { type: "string" },
      "discovery-window": { type: "string" },
      "discovery-runtime": { type: "string" },
      "discovery-plugins": { type: "string" },
      "stream-items": { type: "string" },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values.help) return "help";
  const smoke = values.smoke;
  const durationS = positive("duration", values.duration ?? (smoke ? "1" : "10"));
  const warmupS = positive(
    "warmup",
    values.warmup ?? (smoke ? "0" : String(Math.min(2, Math.max(1, durationS / 5)))),
  );
  const jitWarmupS = positive("jit-warmup", values["jit-warmup"] ?? (smoke ? "0" : "5"));
  const runtimes = list(values.runtimes).map((r) => {
    if (!(RUNTIMES as readonly string[]).includes(r)) throw new RangeError(`Unknown runtime "${r}"`);
    return r as RuntimeName;
  });
  // The discovery grid takes minutes: a full run has it only when named, the smoke run a tiny one.
  const scenarios = values.scenarios === undefined
    ? [...SCENARIOS.map((s) => s.name), STREAMING_GROUP, ...(smoke ? [DISCOVERY_GROUP] : [])]
    : list(values.scenarios);
  const groups = [DISCOVERY_GROUP, STREAMING_GROUP];
  for (const s of scenarios) {
    if (!groups.includes(s) && !SCENARIOS.some((x) => x.name === s)) {
      throw new RangeError(`Unknown scenario "${s}"\n${USAGE}`);
    }
  }
  // The smoke run checks that every scenario runs: one load each is enough (c=1 is the same code).
  const concurrencies = list(values.concurrency ?? (smoke ? "64" : "1,64")).map((c) => positive("concurrency", c));
  const repeat = Math.max(1, Math.floor(positive("repeat", values.repeat)));
  // lifecycle measures plugins of the HTTP scenarios: not for a discovery-only run
  const lifecycle = !values["skip-lifecycle"] && scenarios.some((s) => !groups.includes(s));
  const load = loadGenerator(values.load);
  return {
    smoke,
    durationS,
    warmupS,
    jitWarmupS,
    concurrencies,
    repeat,
    runtimes,
    scenarios,
    out: values.out,
    lifecycle,
    load,
    discovery: parseDiscoveryArgs(values, smoke),
    streaming: parseStreamingArgs(values["stream-items"], smoke),
  };
}

function loadGenerator(value: string): LoadGenerator {
  if (value === "auto" || value === "") return wrkAvailable() ? "wrk" : "autocannon";
  if (value === "autocannon") return value;
  if (value !== "wrk") throw new RangeError(`--load must be auto, wrk or autocannon, got "${value}"`);
  if (!wrkAvailable()) {
    throw new RangeError(
      "--load wrk: wrk is not installed (apt-get install wrk, or bash scripts/bootstrap.sh)",
    );
  }
  return value;
}
