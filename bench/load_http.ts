/**
 * HTTP load in its own process (run under node): autocannon's programmatic API at concurrency C for
 * T seconds after an optional warm-up. Latencies are taken from autocannon's `response` events into a
 * µs histogram (autocannon's own histogram stores whole milliseconds). Prints `load start`, then one
 * JSON line `{"result": LoadResult}`.
 *
 *   node bench/load_http.ts --url http://127.0.0.1:8080/v1/hello/greet [-c 64] [-d 10] [--warmup 1]
 * @module
 */
import process from "node:process";
import { createRequire } from "node:module";
import { parseArgs } from "node:util";
import type { EventEmitter } from "node:events";
import { LatencyHistogram } from "./latency_histogram.ts";
import type { LoadResult } from "./load_result.ts";

interface AutocannonOptions {
  url: string;
  method: "POST";
  headers: Record<string, string>;
  body: string;
  connections: number;
  duration: number;
  timeout: number;
}
interface AutocannonResult {
  "2xx": number;
  non2xx: number;
  errors: number;
  timeouts: number;
  duration: number;
}
type Autocannon = (
  opts: AutocannonOptions,
  cb: (err: Error | null, result: AutocannonResult) => void,
) => EventEmitter;

const autocannon = createRequire(import.meta.url)("autocannon") as Autocannon;

const { values } = parseArgs({
  args: process.argv.slice(2),
  options: {
    url: { type: "string" },
    body: { type: "string", default: JSON.stringify({ name: "World" }) },
    connections: { type: "string", short: "c", default: "64" },
    duration: { type: "string", short: "d", default: "10" },
    warmup: { type: "string", default: "0" },
  },
});
if (values.url === undefined) throw new TypeError("--url is required");
const url = values.url;

function run(seconds: number, hist: LatencyHistogram | null): Promise<AutocannonResult> {
  return new Promise((resolve, reject) => {
    const instance = autocannon({
      url,
      method: "POST",
      headers: { "content-type": "application/json" },
      body: values.body,
      connections: Number(values.connections),
      duration: seconds,
      timeout: 10,
    }, (err, result) => (err ? reject(err) : resolve(result)));
    if (hist !== null) {
      instance.on("response", (_client: unknown, status: number, _bytes: number, ms: number) => {
        if (status >= 200 && status < 300) hist.record(ms * 1000);
      });
    }
  });
}

const warmup = Number(values.warmup);
if (warmup > 0) await run(warmup, null);

const hist = new LatencyHistogram();
process.stdout.write("load start\n");
const cpu0 = process.cpuUsage();
const t0 = performance.now();
const r = await run(Number(values.duration), hist);
const seconds = (performance.now() - t0) / 1000;
const cpu = process.cpuUsage(cpu0);
const result: LoadResult = {
  requests: r["2xx"],
  non2xx: r.non2xx,
  errors: r.errors + r.timeouts,
  durationS: r.duration > 0 ? r.duration : seconds,
  reqPerSec: r["2xx"] / (r.duration > 0 ? r.duration : seconds),
  p50Us: hist.percentile(50),
  p99Us: hist.percentile(99),
  loadCpuUs: cpu.user + cpu.system,
};
process.stdout.write(`${JSON.stringify({ result })}\n`);
process.exit(0);
