/**
 * What sending one OTLP batch costs the thread that sends it: CPU and wall time per POST of a body of
 * `--bytes` to a local sink (bench/otlp_sink.ts), one at a time, for
 *   - `sdk`: the OpenTelemetry SDK's OTLP/HTTP transport, as the export worker sends (otlp_http_sender.ts);
 *   - `http`: a bare `node:http` request on a keep-alive agent;
 *   - `fetch`: the runtime's `fetch`.
 * A batch of 512 spans is ~170 KB (three spans a request: ~170 requests).
 *
 *   node bench/otlp_send_cost.ts [--bytes 170000] [--batches 300] [--rounds 2]   (also: deno run -A, bun run)
 * @module
 */
import process from "node:process";
import { spawn } from "node:child_process";
import http from "node:http";
import { parseArgs } from "node:util";
import { createOtlpHttpSender } from "../src/telemetry/otlp_http_sender.ts";

const { values } = parseArgs({
  args: process.argv.slice(2),
  options: {
    bytes: { type: "string", default: "170000" },
    batches: { type: "string", default: "300" },
    rounds: { type: "string", default: "2" },
  },
});
const BATCHES = Number(values.batches);
const body = new Uint8Array(Number(values.bytes)).fill(7);

const sink = spawn("node", ["bench/otlp_sink.ts", "--port", "0"], { stdio: ["ignore", "pipe", "inherit"] });
const port = await new Promise<number>((resolve) => sink.stdout!.once("data", (d) => resolve(JSON.parse(String(d)).port)));
process.env.OTEL_EXPORTER_OTLP_ENDPOINT = `http://127.0.0.1:${port}`;
const url = `http://127.0.0.1:${port}/v1/traces`;

const sdk = createOtlpHttpSender();
const agent = new http.Agent({ keepAlive: true });
const ways: Record<string, () => Promise<void>> = {
  sdk: () => new Promise<void>((resolve, reject) => sdk.send({ body, count: 512 }, (outcome) => outcome === undefined ? resolve() : reject(new Error(outcome)))),
  http: () =>
    new Promise<void>((resolve, reject) => {
      const headers = { "content-type": "application/x-protobuf", "content-length": body.length };
      const req = http.request({ host: "127.0.0.1", port, path: "/v1/traces", method: "POST", agent, headers }, (res) => {
        res.resume();
        res.on("end", resolve);
      });
      req.on("error", reject);
      req.end(body);
    }),
  fetch: async () => {
    const res = await fetch(url, { method: "POST", body, headers: { "content-type": "application/x-protobuf" } });
    await res.arrayBuffer();
  },
};

try {
  console.log(`${body.length} bytes a batch, ${BATCHES} batches one at a time, CPU of this process (every thread)`);
  for (let round = 1; round <= Number(values.rounds); round++) {
    for (const [name, send] of Object.entries(ways)) {
      for (let i = 0; i < 20; i++) await send();
      const cpu0 = process.cpuUsage();
      const t0 = performance.now();
      for (let i = 0; i < BATCHES; i++) await send();
      const cpu = process.cpuUsage(cpu0);
      const wallUs = (performance.now() - t0) * 1000;
      console.log(`round ${round} ${name.padEnd(6)} ${((cpu.user + cpu.system) / BATCHES).toFixed(0).padStart(5)} µs CPU a batch  ${(wallUs / BATCHES).toFixed(0).padStart(5)} µs wall`);
    }
  }
} finally {
  await sdk.shutdown();
  agent.destroy();
  sink.kill();
}
process.exit(0);
