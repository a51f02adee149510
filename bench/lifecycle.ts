/**
 * Lifecycle figures per runtime, next to the load scenarios:
 * - cold start: spawn `switchyard plugin` → its first reply over NATS;
 * - idle RSS of that plugin instance, 1 s after its first reply;
 * - hot swap: under 16 concurrent HTTP clients through the router, v1.0.0 serving, a v1.1.0 instance
 *   is started; time from its "plugin ready" line until ≥ 95 % of responses come from 1.1.0, to
 *   25 ms (the router routes to the highest stable version as soon as it learns of it).
 * @module
 */
import { connect } from "@nats-io/transport-node";
import { Child } from "./child_procs.ts";
import { freePort, probeHttp } from "./http_util.ts";
import { startNatsServer } from "./nats_server.ts";
import { rssMiB } from "./proc_stats.ts";
import { runtimeArgv } from "./scenarios.ts";
import { versionSubjectBase } from "../src/bus/subjects.ts";
import type { RuntimeName } from "./scenarios.ts";

export interface LifecycleRow {
  runtime: RuntimeName;
  coldStartMs?: number;
  idleRssMiB?: number;
  hotSwapMs?: number;
  note: string;
}

const CLI = "src/cli/main.ts";
const BUCKET_MS = 25;
const CLIENTS = 16;

function plugin(runtime: RuntimeName, module: string, natsUrl: string, id: string): Child {
  return new Child(`swap ${id} (${runtime})`, runtimeArgv(runtime, CLI, ["plugin", module, "--nats", natsUrl, "--instance-id", id]), process.env);
}

/** Spawns a plugin and times its first successful reply. */
async function coldStart(runtime: RuntimeName, natsUrl: string): Promise<{ ms: number; rss: number; child: Child }> {
  const nc = await connect({ servers: natsUrl });
  try {
    const t0 = performance.now();
    const child = plugin(runtime, "bench/fixtures/swap-v1/mod.ts", natsUrl, "cold-1");
    const deadline = t0 + 30_000;
    for (;;) {
      if (!child.running) throw new Error(`the plugin exited before answering:\n${child.tail.join("\n")}`);
      try {
        await nc.request(`${versionSubjectBase("sy", "swap", "1.0.0")}.who`, "{}", { timeout: 50 });
        break;
      } catch {
        if (performance.now() > deadline) throw new Error("no reply within 30 s");
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    }
    const ms = performance.now() - t0;
    await new Promise((resolve) => setTimeout(resolve, 1_000)); // idle, then measure
    return { ms, rss: rssMiB(child.pid), child };
  } finally {
    await nc.close();
  }
}

/**
 * Load through the router while v1.1.0 joins. Responses after its ready line are bucketed by
 * completion time (25 ms buckets); the swap time is the start of the first bucket from which every
 * bucket has ≥ 95 % of its responses from 1.1.0.
 */
async function hotSwap(runtime: RuntimeName, natsUrl: string, limitS: number): Promise<number> {
  const port = await freePort();
  const router = new Child(`router (${runtime})`, runtimeArgv(runtime, CLI, ["router", "--port", String(port), "--host", "127.0.0.1", "--nats", natsUrl]), process.env);
  const children = [router];
  try {
    await router.waitFor(/router ready/, 20_000);
    const v1 = plugin(runtime, "bench/fixtures/swap-v1/mod.ts", natsUrl, "swap-1");
    children.push(v1);
    await v1.waitFor(/plugin ready/, 20_000);
    const url = `http://127.0.0.1:${port}/v1/swap/who`;
    // The instance's ready line is not the router's: wait until the router routes to it, so the
    // load starts on a known plugin (else the first request of each client may race discovery).
    await probeHttp(url, "{}", 20_000);
    const after: { t: number; v2: boolean }[] = [];
    let readyAt = Infinity;
    const failures = new Map<string, number>();
    const fail = (what: string) => failures.set(what, (failures.get(what) ?? 0) + 1);
    let stopAt = performance.now() + limitS * 1000;
    const client = async () => {
      while (performance.now() < stopAt) {
        try {
          const res = await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
          const body = await res.json() as { version?: string; error?: { code?: string } };
          if (res.status !== 200) fail(`${res.status} ${body.error?.code ?? "?"}`);
          const t = performance.now();
          if (t > readyAt) after.push({ t: t - readyAt, v2: res.status === 200 && body.version === "1.1.0" });
        } catch (err) {
          fail(`fetch: ${err instanceof Error ? err.message : String(err)}`);
        }
      }
    };
    const clients = Array.from({ length: CLIENTS }, client);
    await new Promise((resolve) => setTimeout(resolve, 1_000)); // steady load on v1 first
    const v2 = plugin(runtime, "bench/fixtures/swap-v2/mod.ts", natsUrl, "swap-2");
    children.push(v2);
    await v2.waitFor(/plugin ready/, 20_000);
    readyAt = performance.now();
    stopAt = Math.min(stopAt, readyAt + 2_000);
    await Promise.all(clients);
    if (failures.size > 0) {
      const total = [...failures.values()].reduce((a, b) => a + b, 0);
      const detail = [...failures].map(([what, n]) => `${n}× ${what}`).join(", ");
      throw new Error(`${total} failed requests during the swap (${detail})`);
    }
    const buckets: { all: number; v2: number }[] = [];
    for (const r of after) {
      const b = (buckets[Math.floor(r.t / BUCKET_MS)] ??= { all: 0, v2: 0 });
      b.all++;
      if (r.v2) b.v2++;
    }
    let from = -1;
    for (let i = buckets.length - 1; i >= 0; i--) {
      const b = buckets[i];
      if (b !== undefined && b.all > 0 && b.v2 < 0.95 * b.all) break;
      from = i;
    }
    if (from < 0 || buckets.length === 0) throw new Error("traffic never moved to 1.1.0");
    return (from + 1) * BUCKET_MS; // within this long: the end of the first all-v2 bucket
  } finally {
    for (const c of children.reverse()) await c.stop();
  }
}

/** Measures each runtime; failures become notes, never throws. */
export async function measureLifecycle(runtimes: readonly RuntimeName[], log: (line: string) => void): Promise<LifecycleRow[]> {
  const rows: LifecycleRow[] = [];
  for (const runtime of runtimes) {
    const row: LifecycleRow = { runtime, note: "" };
    const nats = await startNatsServer();
    try {
      const cold = await coldStart(runtime, nats.url);
      await cold.child.stop();
      row.coldStartMs = cold.ms;
      row.idleRssMiB = cold.rss;
      row.hotSwapMs = await hotSwap(runtime, nats.url, 15);
    } catch (err) {
      row.note = `failed: ${err instanceof Error ? err.message.split("\n")[0] : String(err)}`;
    } finally {
      await nats.stop();
    }
    log(
      `  lifecycle ${runtime}: cold start ${row.coldStartMs?.toFixed(0) ?? "-"} ms, idle RSS ${row.idleRssMiB?.toFixed(1) ?? "-"} MiB, ` +
        `hot swap ${row.hotSwapMs?.toFixed(0) ?? "-"} ms${row.note === "" ? "" : ` (${row.note})`}`,
    );
    rows.push(row);
  }
  return rows;
}

/** The lifecycle table, in the markdown of the other tables. */
export function lifecycleTable(rows: readonly LifecycleRow[]): string {
  const lines = [
    "| runtime | plugin cold start ms (spawn → first reply) | idle plugin RSS MiB | hot swap within ms (v2 ready → ≥ 95 % on v2; 25 ms steps) | note |",
    "| --- | ---: | ---: | ---: | --- |",
  ];
  for (const r of rows) {
    lines.push(`| ${r.runtime} | ${r.coldStartMs?.toFixed(0) ?? "-"} | ${r.idleRssMiB?.toFixed(1) ?? "-"} | ${r.hotSwapMs?.toFixed(0) ?? "-"} | ${r.note} |`);
  }
  return lines.join("\n");
}
