/**
 * Floor: bare NATS request/reply load. C concurrent loops, each awaiting `nc.request()` in turn, for
 * T seconds after an optional warm-up. Prints `load start` when the measured window opens, then one
 * JSON line: requests, errors, req/s, p50/p99 µs and this process's own CPU time.
 *
 *   <runtime> bench/floor_nats_client.ts --nats URL [--subject S] [-c 64] [-d 10] [--warmup 1]
 * @module
 */
import process from "node:process";
import { parseArgs } from "node:util";
import { connect } from "@nats-io/transport-node";
import type { NatsConnection } from "@nats-io/transport-node";
import { LatencyHistogram } from "./latency_histogram.ts";
import type { LoadResult } from "./load_result.ts";

const { values } = parseArgs({
  args: process.argv.slice(2),
  options: {
    nats: { type: "string", default: "nats://127.0.0.1:4222" },
    subject: { type: "string", default: "floor.hello.greet" },
    connections: { type: "string", short: "c", default: "64" },
    duration: { type: "string", short: "d", default: "10" },
    warmup: { type: "string", default: "0" },
    timeout: { type: "string", default: "5000" },
  },
});

const concurrency = Number(values.connections);
const timeout = Number(values.timeout);
const body = new TextEncoder().encode(JSON.stringify({ name: "World" }));

interface Tally {
  ok: number;
  errors: number;
  hist: LatencyHistogram | null;
}

async function loop(nc: NatsConnection, until: number, tally: Tally): Promise<void> {
  while (performance.now() < until) {
    const t0 = performance.now();
    try {
      await nc.request(values.subject, body, { timeout });
      tally.hist?.record((performance.now() - t0) * 1000);
      tally.ok++;
    } catch {
      tally.errors++;
    }
  }
}

async function run(nc: NatsConnection, seconds: number, tally: Tally): Promise<number> {
  const start = performance.now();
  const until = start + seconds * 1000;
  await Promise.all(Array.from({ length: concurrency }, () => loop(nc, until, tally)));
  return (performance.now() - start) / 1000;
}

const nc = await connect({ servers: values.nats, noAsyncTraces: true, name: "floor-client" });
const warmup = Number(values.warmup);
if (warmup > 0) await run(nc, warmup, { ok: 0, errors: 0, hist: null });

const hist = new LatencyHistogram();
const tally: Tally = { ok: 0, errors: 0, hist };
process.stdout.write("load start\n");
const cpu0 = process.cpuUsage();
const seconds = await run(nc, Number(values.duration), tally);
const cpu = process.cpuUsage(cpu0);
const result: LoadResult = {
  requests: tally.ok,
  non2xx: 0,
  errors: tally.errors,
  durationS: seconds,
  reqPerSec: tally.ok / seconds,
  p50Us: hist.percentile(50),
  p99Us: hist.percentile(99),
  loadCpuUs: cpu.user + cpu.system,
};
process.stdout.write(`${JSON.stringify({ result })}\n`);
await nc.close();
process.exit(0);
