/**
 * The `streaming` group: on each runtime, one stream of N items through the router and the ticker
 * plugin (HTTP NDJSON, read by this process), and the same N items on raw NATS from a publisher
 * to a subscriber process (the floor), each on a private nats-server. CPU of every process from
 * /proc over the measured stream, after a warm-up stream on the same processes.
 * @module
 */
import process from "node:process";
import { connect } from "@nats-io/transport-node";
import { Child } from "../child_procs.ts";
import { freePort } from "../http_util.ts";
import { startNatsServer } from "../nats_server.ts";
import type { NatsServer } from "../nats_server.ts";
import { cpuTimeUs, hostBusyUs } from "../proc_stats.ts";
import { runtimeArgv } from "../scenarios.ts";
import type { RuntimeName } from "../scenarios.ts";
import type { StreamingArgs } from "./stream_options.ts";

/** Which path a row measured. */
export type StreamPath = "switchyard" | "floor";

/** One measured stream. */
export interface StreamRow {
  runtime: RuntimeName;
  path: StreamPath;
  status: "ok" | "failed";
  note: string;
  items: number;
  ms?: number;
  itemsPerS?: number;
  /** CPU µs per item: `front` is the router (the floor's subscriber), `back` the plugin (the publisher). */
  cpuUsPerItem?: { front: number; back: number; nats: number; client: number };
  /** Busy CPUs of the machine over the measured stream not used by these processes (other load). */
  otherCores?: number;
}

const START_TIMEOUT_MS = 30_000;
const PLUGIN = "bench/fixtures/ticker/mod.ts";

function childEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith("OTEL_")) env[k] = v;
  return env;
}

/** The CPU µs of the processes and of this one (the client), now. */
function cpuNow(front: Child, back: Child, nats: NatsServer) {
  const self = process.cpuUsage();
  return {
    front: cpuTimeUs(front.pid),
    back: cpuTimeUs(back.pid),
    nats: cpuTimeUs(nats.child.pid),
    client: self.user + self.system,
    host: hostBusyUs(),
    at: performance.now(),
  };
}

/** A measured stream's row from CPU readings before and after it. */
function measured(
  base: Pick<StreamRow, "runtime" | "path" | "items">,
  before: ReturnType<typeof cpuNow>,
  after: ReturnType<typeof cpuNow>,
): StreamRow {
  const n = base.items;
  const ms = after.at - before.at;
  const d = (k: "front" | "back" | "nats" | "client") => after[k] - before[k];
  const ours = d("front") + d("back") + d("nats") + d("client");
  return {
    ...base,
    status: "ok",
    note: "",
    ms,
    itemsPerS: n / (ms / 1000),
    cpuUsPerItem: { front: d("front") / n, back: d("back") / n, nats: d("nats") / n, client: d("client") / n },
    otherCores: Math.max(0, (after.host - before.host - ours) / (ms * 1000)),
  };
}

/** Rejects after `capS` with what was measuring. */
function within<T>(promise: Promise<T>, capS: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const cap = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} took longer than ${capS} s`)), capS * 1000);
  });
  return Promise.race([promise, cap]).finally(() => clearTimeout(timer));
}

/** Streams `n` ticks over HTTP and checks each line is the next item; resolves when the body ended. */
async function readTicks(url: string, n: number): Promise<void> {
  const res = await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ n }) });
  if (res.status !== 200) throw new Error(`${url} answered ${res.status}: ${(await res.text()).slice(0, 200)}`);
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let text = "";
  let next = 0;
  for (;;) {
    const chunk = await reader.read();
    if (chunk.done) break;
    text += decoder.decode(chunk.value, { stream: true });
    const last = text.lastIndexOf("\n");
    if (last < 0) continue;
    for (const line of text.slice(0, last).split("\n")) {
      const item = JSON.parse(line) as { i?: number };
      if (item.i !== next) throw new Error(`item ${next} was ${line.slice(0, 200)}`);
      next++;
    }
    text = text.slice(last + 1);
  }
  if (next !== n || text !== "") throw new Error(`the stream ended after ${next} of ${n} items`);
}

/** Router and ticker plugin on `runtime`: a warm-up stream, then the measured one. */
async function measureSwitchyard(runtime: RuntimeName, args: StreamingArgs, nats: NatsServer): Promise<StreamRow> {
  const port = await freePort();
  const env = childEnv();
  const plugin = new Child(`streaming/plugin (${runtime})`, runtimeArgv(runtime, "src/cli/main.ts", ["plugin", PLUGIN, "--nats", nats.url]), env);
  const router = new Child(
    `streaming/router (${runtime})`,
    runtimeArgv(runtime, "src/cli/main.ts", ["router", "--port", String(port), "--nats", nats.url]),
    env,
  );
  try {
    await Promise.all([plugin.waitFor(/plugin ready/, START_TIMEOUT_MS), router.waitFor(/router ready/, START_TIMEOUT_MS)]);
    const base = `http://127.0.0.1:${port}`;
    await within(untilListed(`${base}/v1/plugins/ticker`), START_TIMEOUT_MS / 1000, "discovery of the ticker plugin");
    const url = `${base}/v1/ticker/ticks`;
    await within(readTicks(url, args.warmupItems), args.capS, "the warm-up stream");
    const before = cpuNow(router, plugin, nats);
    await within(readTicks(url, args.items), args.capS, "the measured stream");
    return measured({ runtime, path: "switchyard", items: args.items }, before, cpuNow(router, plugin, nats));
  } finally {
    await Promise.all([router.stop(), plugin.stop()]);
  }
}

async function untilListed(url: string): Promise<void> {
  for (;;) {
    const res = await fetch(url).catch(() => undefined);
    await res?.arrayBuffer();
    if (res?.status === 200) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Publisher and subscriber on `runtime`: a warm-up run, then the measured one. */
async function measureFloor(runtime: RuntimeName, args: StreamingArgs, nats: NatsServer): Promise<StreamRow> {
  const env = childEnv();
  const script = "bench/streaming/floor_stream.ts";
  const sub = new Child(`streaming/floor-sub (${runtime})`, runtimeArgv(runtime, script, ["--role", "sub", "--nats", nats.url]), env);
  const pub = new Child(`streaming/floor-pub (${runtime})`, runtimeArgv(runtime, script, ["--role", "pub", "--nats", nats.url]), env);
  const nc = await connect({ servers: nats.url, name: "bench-streaming" });
  try {
    await Promise.all([sub.waitFor(/floor sub ready/, START_TIMEOUT_MS), pub.waitFor(/floor pub ready/, START_TIMEOUT_MS)]);
    const run = async (n: number) => {
      const done = sub.waitFor(/"floor (done|failed)"/, args.capS * 1000);
      nc.publish("floor.stream.go", String(n));
      const line = await done;
      if (line.includes("floor failed")) throw new Error(line);
    };
    await run(args.warmupItems);
    const before = cpuNow(sub, pub, nats);
    await run(args.items);
    return measured({ runtime, path: "floor", items: args.items }, before, cpuNow(sub, pub, nats));
  } finally {
    await nc.close();
    await Promise.all([sub.stop(), pub.stop()]);
  }
}

/** Both paths on each runtime, one private nats-server per path; never throws, failures become rows. */
export async function runStreaming(runtimes: readonly RuntimeName[], args: StreamingArgs, log: (line: string) => void): Promise<StreamRow[]> {
  const rows: StreamRow[] = [];
  for (const runtime of runtimes) {
    for (const path of ["floor", "switchyard"] as const) {
      let nats: NatsServer | undefined;
      try {
        nats = await startNatsServer();
        const row = path === "floor" ? await measureFloor(runtime, args, nats) : await measureSwitchyard(runtime, args, nats);
        log(`streaming ${path} on ${runtime}: ${Math.round(row.itemsPerS ?? 0).toLocaleString("en-US")} items/s`);
        rows.push(row);
      } catch (err) {
        const note = `failed: ${err instanceof Error ? err.message : String(err)}`;
        log(`streaming ${path} on ${runtime}: ${note}`);
        rows.push({ runtime, path, status: "failed", note, items: args.items });
      } finally {
        await nats?.stop();
      }
    }
  }
  return rows;
}
