/**
 * A tiny local OTLP/HTTP sink: accepts `POST /v1/traces` (JSON or protobuf), discards the body and
 * answers 200 with an empty export response. `GET /stats` returns how many exports and bytes arrived.
 *
 *   node bench/otlp_sink.ts --port 4318
 * @module
 */
import process from "node:process";
import { createServer } from "node:http";
import { parseArgs } from "node:util";

const { values } = parseArgs({
  args: process.argv.slice(2),
  options: { port: { type: "string", default: "0" } },
});

const stats = { exports: 0, bytes: 0 };

const server = createServer((req, res) => {
  if (req.method === "GET" && req.url === "/stats") {
    res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(stats));
    return;
  }
  if (req.method !== "POST" || !req.url?.startsWith("/v1/")) {
    res.writeHead(404).end();
    return;
  }
  req.on("data", (chunk: Buffer) => {
    stats.bytes += chunk.length;
  });
  req.on("end", () => {
    stats.exports++;
    // an empty ExportTraceServiceResponse: `{}` in JSON, zero bytes in protobuf
    const json = (req.headers["content-type"] ?? "").includes("json");
    res.writeHead(200, { "content-type": json ? "application/json" : "application/x-protobuf" });
    res.end(json ? "{}" : undefined);
  });
});

server.listen(Number(values.port), "127.0.0.1", () => {
  const addr = server.address();
  const port = typeof addr === "object" && addr !== null ? addr.port : 0;
  process.stdout.write(`${JSON.stringify({ msg: "otlp sink ready", port })}\n`);
});
process.on("SIGTERM", () => process.exit(0));
