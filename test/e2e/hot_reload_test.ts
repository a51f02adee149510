import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { currentRuntime, runtimeCommand } from "../../src/runtime/mod.ts";
import { spawnProcess } from "../../src/testing/mod.ts";
import { CLI } from "./_stack.ts";
import { describeLoad, failuresOf, startLoad } from "./_load_client.ts";
import type { LoadRecord } from "./_load_client.ts";
import { reloadableSource } from "./_reloadable.ts";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

test("`switchyard dev` reloads a plugin v1 → v2 on a file change under load: 0 failures, ≥ 95 % on v2 within 3 s of v2 being ready", async () => {
  mkdirSync(join(ROOT, ".cache"), { recursive: true });
  const dir = mkdtempSync(join(ROOT, ".cache", "dev-"));
  try {
    mkdirSync(join(dir, "reloadable"));
    const module = join(dir, "reloadable", "mod.ts");
    writeFileSync(module, reloadableSource("1.0.0"));
    await using dev = spawnProcess(runtimeCommand(currentRuntime(), CLI, ["dev", "--port", "0", "--plugins", dir]), {
      cwd: ROOT,
      env: { NATS_URL: undefined },
      name: "dev",
      maxLines: 2_000,
    });
    const up = await dev.waitForLine("Switchyard dev is up", 60_000);
    const url = /router (http:\/\/\S+),/.exec(up)![1]!;
    const load = startLoad({ url: `${url}/v1/reloadable/who`, durationMs: 20_000 });
    await load.running;
    const editedAt = Date.now();
    writeFileSync(module, reloadableSource("2.0.0"));
    const reloaded = await dev.waitForLine(/reloadable reloaded \(2\.0\.0\)/, 20_000);
    const readyMs = Number(/new instances ready (\d+) ms/.exec(reloaded)![1]);
    // A second of load after v2 is ready, and enough requests to measure shares.
    await load.waitForMore(200, editedAt + readyMs + 1_000);
    const records = await load.stop();
    const readyAt = editedAt + readyMs;
    const t95 = firstTimeShareHolds(records, "2.0.0", 0.95);
    console.log(
      `dev hot reload under load: ${describeLoad(records)}; file change → v2 ready ${readyMs} ms; ` +
        `→ 95 % of traffic on v2 from ${t95 === undefined ? "never" : `${t95 - editedAt} ms`} (${reloaded.trim()})`,
    );
    assert.deepEqual(failuresOf(records), [], describeLoad(records));
    assert.ok(records.some((r) => r.version === "1.0.0") && records.some((r) => r.version === "2.0.0"));
    assert.ok(t95 !== undefined && t95 - readyAt <= 3_000, `95 % on v2 ${t95 === undefined ? "never" : t95 - readyAt} ms after v2 was ready`);
    assert.ok(records.filter((r) => r.start >= t95!).length >= 50, "enough requests after the switch to tell");
    dev.kill("SIGINT");
    assert.equal((await dev.exited).code, 0, dev.lines.slice(-20).join("\n"));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/**
 * The start of the first 100 ms window (by request start) from which on every window has at least
 * `share` of its requests answered by `version` (windows of fewer than 5 requests do not count).
 */
function firstTimeShareHolds(records: readonly LoadRecord[], version: string, share: number): number | undefined {
  const WINDOW = 100;
  const t0 = Math.min(...records.map((r) => r.start));
  const windows = new Map<number, { hits: number; total: number }>();
  for (const r of records) {
    const k = Math.floor((r.start - t0) / WINDOW);
    const w = windows.get(k) ?? { hits: 0, total: 0 };
    w.total++;
    if (r.version === version) w.hits++;
    windows.set(k, w);
  }
  let found: number | undefined;
  for (const k of [...windows.keys()].sort((a, b) => b - a)) {
    const w = windows.get(k)!;
    if (w.total < 5) continue;
    if (w.hits / w.total < share) break;
    found = t0 + k * WINDOW;
  }
  return found;
}
