import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { summaryTable } from "../../bench/summary_table.ts";
import { probeHttp } from "../../bench/http_util.ts";
import type { Row } from "../../bench/row.ts";
import type { RuntimeName } from "../../bench/scenarios.ts";

function row(
  scenario: string,
  runtime: RuntimeName,
  c: number,
  reqPerSec: number,
  p50Us: number,
  cpu: number,
): Row {
  return {
    scenario,
    runtime,
    concurrency: c,
    status: "ok",
    note: "",
    result: {
      requests: 1000,
      non2xx: 0,
      errors: 0,
      durationS: 1,
      reqPerSec,
      p50Us,
      p99Us: p50Us * 2,
      loadCpuUs: 1,
    },
    // servers' CPU is gateway + plugin + nats; the load generator's column must not count
    cpuUsPerReq: { gateway: cpu / 2, plugin: cpu / 4, nats: cpu / 4, load: 1_000 },
  };
}

/** The cells of the summary line whose measure and c match, keyed by column name. */
function line(table: string, measure: string, c: number): Record<string, string> {
  const [header, , ...lines] = table.split("\n").map((l) => l.split("|").slice(1, -1).map((s) => s.trim()));
  const found = lines.find((cells) => cells[0] === measure && cells[3] === String(c));
  assert.ok(found !== undefined, `no line "${measure}" at c=${c} in\n${table}`);
  return Object.fromEntries(header!.map((h, i) => [h, found[i]!]));
}

describe("bench summary table", () => {
  const rows: Row[] = [
    row("floor-http-mux", "node", 1, 2000, 400, 500),
    row("floor-http-mux", "node", 64, 5000, 9000, 300),
    row("switchyard", "node", 1, 1500, 550, 600),
    row("switchyard", "node", 64, 6000, 8000, 200),
    row("switchyard+tracing", "node", 1, 750, 900, 1200),
    row("switchyard+tracing", "node", 64, 3000, 16000, 400),
    row("moleculer", "node", 64, 2400, 20000, 500),
    row("floor-http-mux", "bun", 1, 2000, 400, 500),
    row("switchyard", "bun", 1, 2500, 300, 400),
  ];
  const table = summaryTable(rows);

  test("Switchyard over the lean floor: req/s and servers' CPU per request at c=1 and c=64", () => {
    assert.equal(line(table, "req/s: switchyard / lean floor", 1)["node"], "0.75");
    assert.equal(line(table, "req/s: switchyard / lean floor", 64)["node"], "1.20");
    assert.equal(line(table, "server CPU µs/req: switchyard / lean floor", 1)["node"], "1.20");
    assert.equal(line(table, "server CPU µs/req: switchyard / lean floor", 64)["node"], "0.67");
  });

  test("the c=1 p50 is a signed difference in µs against the lean floor", () => {
    assert.equal(line(table, "p50 µs: switchyard − lean floor", 1)["node"], "+150");
    assert.equal(line(table, "p50 µs: switchyard − lean floor", 1)["bun"], "-100");
  });

  test("tracing on / off and Switchyard / Moleculer", () => {
    assert.equal(line(table, "req/s: tracing on / off", 1)["node"], "0.50");
    assert.equal(line(table, "req/s: tracing on / off", 64)["node"], "0.50");
    assert.equal(line(table, "req/s: switchyard / moleculer", 64)["node"], "2.50");
    assert.equal(line(table, "server CPU µs/req: switchyard / moleculer", 64)["node"], "0.40");
  });

  test("a side not measured (or failed) is '-', not a number", () => {
    assert.equal(line(table, "req/s: switchyard / moleculer", 64)["bun"], "-");
    const failed = rows.map((r): Row =>
      r.scenario === "moleculer"
        ? { scenario: r.scenario, runtime: r.runtime, concurrency: 64, status: "failed", note: "failed: x" }
        : r
    );
    assert.equal(line(summaryTable(failed), "req/s: switchyard / moleculer", 64)["node"], "-");
  });

  test("with repetitions each ratio is taken within one, then the median and the range are shown", () => {
    const rep = (r: Row, n: number, scale: number): Row => ({ ...r, rep: n, result: { ...r.result!, reqPerSec: r.result!.reqPerSec * scale } });
    const floor = row("floor-http-mux", "node", 64, 5000, 9000, 300);
    const sy = row("switchyard", "node", 64, 5000, 8000, 200);
    // The machine's speed drifts between repetitions; within each the two sides move together.
    const repeated: Row[] = [
      rep(floor, 1, 1), rep(sy, 1, 1.1),
      rep(floor, 2, 2), rep(sy, 2, 2 * 0.9),
      rep(floor, 3, 0.5), rep(sy, 3, 0.5 * 1.3),
      // a repetition whose floor failed counts for nothing
      { scenario: floor.scenario, runtime: "node", concurrency: 64, rep: 4, status: "failed", note: "failed: x" }, rep(sy, 4, 9),
    ];
    const table = summaryTable(repeated);
    assert.equal(line(table, "req/s: switchyard / lean floor", 64)["node"], "1.10 (0.90–1.30)");
    assert.match(table, /median of the per-repetition ratios/);
  });
});

describe("bench start-up probe", () => {
  async function serve(body: string): Promise<{ url: string; close(): Promise<void> }> {
    const server = createServer((_req, res) => {
      res.writeHead(200, { "content-type": "application/json" }).end(body);
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as AddressInfo;
    return {
      url: `http://127.0.0.1:${port}/v1/hello/greet`,
      close: () => new Promise((resolve) => server.close(() => resolve())),
    };
  }

  test("accepts a 2xx answer carrying the expected JSON", async () => {
    const target = await serve('{"message":"Hello, World"}');
    try {
      await probeHttp(target.url, "{}", 10_000, { message: "Hello, World" });
    } finally {
      await target.close();
    }
  });

  test("rejects a 2xx answer with another body at once, without waiting for its deadline", async () => {
    const target = await serve('{"message":"Hello, Nobody"}');
    try {
      const started = performance.now();
      await assert.rejects(
        probeHttp(target.url, "{}", 60_000, { message: "Hello, World" }),
        /expected \{"message":"Hello, World"\}/,
      );
      assert.ok(performance.now() - started < 30_000, "the probe waited for its deadline");
    } finally {
      await target.close();
    }
  });
});
