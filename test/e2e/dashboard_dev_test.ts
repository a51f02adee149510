import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { currentRuntime, runtimeCommand } from "../../src/runtime/mod.ts";
import { freePort, spawnProcess, startNatsServer, waitFor } from "../../src/testing/mod.ts";
import { startOtlpReceiver } from "../../src/testing/otlp_receiver.ts";
import { CLI, fixturePath } from "./_stack.ts";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

test("`switchyard dev` keeps traces: plugins, sandboxed ones too, export to the router's ring, and a configured collector still gets every span", async () => {
  await using nats = await startNatsServer();
  await using collector = await startOtlpReceiver();
  const dir = mkdtempSync(join(ROOT, ".cache-dashboard-dev-"));
  try {
    mkdirSync(join(dir, "traced"));
    writeFileSync(
      join(dir, "traced", "mod.ts"),
      `export { default } from ${JSON.stringify(fixturePath("traced"))};\n`,
    );
    // Sandboxed on Deno (the empty sandbox): it reaches the router because its environment names it.
    writeFileSync(join(dir, "traced", "plugin.json"), JSON.stringify({ permissions: {} }));
    const port = await freePort();
    await using dev = spawnProcess(
      runtimeCommand(currentRuntime(), CLI, ["dev", "--port", String(port), "--plugins", dir, "--no-watch"]),
      {
        env: {
          NATS_URL: nats.url,
          OTEL_EXPORTER_OTLP_ENDPOINT: collector.url,
          OTEL_BSP_SCHEDULE_DELAY: "50",
          OTEL_SERVICE_NAME: undefined,
          OTEL_TRACES_SAMPLER: undefined,
        },
        name: "dev",
      },
    );
    await dev.waitForLine("Dashboard: ", 30_000);
    const url = `http://127.0.0.1:${port}`;
    assert.ok(dev.lines.some((l) => l.includes(`Dashboard: ${url}/dashboard`)), dev.lines.join("\n"));
    const res = await fetch(`${url}/v1/traced/relay`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-request-id": "dev-trace-1" },
      body: '{"text":"hi"}',
    });
    assert.equal(res.status, 200, dev.lines.join("\n"));

    type Rows = { traceId: string; rows: { span: { service: string; name: string } }[] };
    let trace: Rows | undefined;
    await waitFor(async () => {
      const r = await fetch(`${url}/dashboard/api/traces/dev-trace-1`);
      trace = r.status === 200 ? await r.json() as Rows : undefined;
      return (trace?.rows.length ?? 0) >= 6;
    }, {
      timeoutMs: 15_000,
      message: () => `6 spans in the ring (have ${trace?.rows.map((r) => r.span.name).join(", ")})`,
    });
    assert.deepEqual([...new Set(trace!.rows.map((r) => r.span.service))], [
      "switchyard-router",
      "plugin-traced",
    ]);
    await waitFor(() => collector.trace(trace!.traceId).length >= 6, {
      timeoutMs: 15_000,
      message: () =>
        `the collector to get the router's spans and, forwarded, the plugin's (have ${
          collector.trace(trace!.traceId).map((s) => `${s.service}:${s.name}`).join(", ")
        })`,
    });
    assert.deepEqual(
      collector.trace(trace!.traceId).map((s) => s.spanId).sort(),
      trace!.rows.map((r) => (r.span as { spanId?: string }).spanId).sort(),
      "the same spans in both",
    );
    dev.kill("SIGINT");
    assert.equal((await dev.exited).code, 0, dev.lines.slice(-20).join("\n"));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
