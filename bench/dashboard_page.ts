/**
 * An open dashboard page for the benchmark: follows the router's `GET /dashboard/events` (a snapshot
 * a second, as the page's EventSource does) for the whole run, reconnecting when the stream ends.
 * Ready after the first snapshot. `GET /stats` on `--port` says how many snapshots and bytes came.
 *
 *   node bench/dashboard_page.ts --router http://127.0.0.1:8080 --port 4318
 * @module
 */
import process from "node:process";
import { createServer } from "node:http";
import { parseArgs } from "node:util";

const { values } = parseArgs({
  args: process.argv.slice(2),
  options: { router: { type: "string" }, port: { type: "string", default: "0" } },
});
if (values.router === undefined) throw new TypeError("--router URL is required");

const stats = { snapshots: 0, bytes: 0 };
let ready = false;

createServer((req, res) => {
  const found = req.method === "GET" && req.url === "/stats";
  res.writeHead(found ? 200 : 404, { "content-type": "application/json" }).end(
    found ? JSON.stringify(stats) : "",
  );
}).listen(Number(values.port), "127.0.0.1");

const decoder = new TextDecoder();
for (;;) {
  try {
    // The router starts with this process: until it listens, try again.
    const res = await fetch(`${values.router}/dashboard/events`);
    if (!res.ok || res.body === null) throw new Error(`GET /dashboard/events: ${res.status}`);
    let tail = "";
    const reader = res.body.getReader();
    for (;;) {
      const { done, value: chunk } = await reader.read();
      if (done) break;
      stats.bytes += chunk.length;
      const text = tail + decoder.decode(chunk, { stream: true });
      const events = text.split("\n\n");
      tail = events.pop() ?? "";
      stats.snapshots += events.filter((e) => e.startsWith("event: snapshot")).length;
      if (!ready && stats.snapshots > 0) {
        ready = true;
        process.stdout.write(`${JSON.stringify({ msg: "dashboard page ready" })}\n`);
      }
    }
  } catch {
    // not up yet, or the stream broke: the page's EventSource retries too
  }
  await new Promise((resolve) => setTimeout(resolve, ready ? 2_000 : 100));
}
