/**
 * Floor: the fastest minimal hand-written HTTP→NATS gateway. Hono app with
 * `POST /v1/:plugin/:method`; the body goes as bytes to `<prefix>.<plugin>.<method>` and the reply
 * bytes come back as application/json. `--mode mux` (default) uses the hand-written RequestMux
 * (one wildcard inbox subscription); `--mode request` uses `nc.request()` for comparison;
 * `--mode static` answers a fixed JSON itself (no NATS hop) to show what the HTTP stack alone costs.
 *
 *   <runtime> bench/floor_http_gateway.ts --nats URL --port 8080 [--mode mux|request|static] [--prefix floor]
 * @module
 */
import process from "node:process";
import { parseArgs } from "node:util";
import { Hono } from "hono";
import { connect, RequestError, TimeoutError } from "@nats-io/transport-node";
import { MuxRequestError, RequestMux } from "./request_mux.ts";
import { RUNTIME, serveNative } from "./native_serve.ts";

const { values } = parseArgs({
  args: process.argv.slice(2),
  options: {
    nats: { type: "string", default: "nats://127.0.0.1:4222" },
    port: { type: "string", default: "0" },
    mode: { type: "string", default: "mux" },
    prefix: { type: "string", default: "floor" },
    timeout: { type: "string", default: "5000" },
  },
});
const mode = values.mode;
if (mode !== "mux" && mode !== "request" && mode !== "static") {
  throw new RangeError(`Unknown --mode "${mode}": choose mux, request or static`);
}

const timeout = Number(values.timeout);
const NAME = /^[a-zA-Z][a-zA-Z0-9_-]{0,62}$/;
const JSON_HEADERS = { "content-type": "application/json" };

const nc = await connect({ servers: values.nats, noAsyncTraces: true, name: "floor-gateway" });
const STATIC_REPLY = new TextEncoder().encode(JSON.stringify({ message: "Hello, World" }));
const mux = mode === "mux" ? new RequestMux(nc, timeout) : null;
const send = mux !== null
  ? (subject: string, data: Uint8Array) => mux.request(subject, data)
  : mode === "static"
  ? (_subject: string, _data: Uint8Array) => Promise.resolve(STATIC_REPLY)
  : async (subject: string, data: Uint8Array) => (await nc.request(subject, data, { timeout })).data;

function failure(status: 503 | 504 | 502, code: string): Response {
  return new Response(JSON.stringify({ error: { code, message: code } }), { status, headers: JSON_HEADERS });
}

const app = new Hono();
app.post("/v1/:plugin/:method", async (c) => {
  const plugin = c.req.param("plugin");
  const method = c.req.param("method");
  if (!NAME.test(plugin) || !NAME.test(method)) return c.json({ error: { code: "not_found" } }, 404);
  const body = new Uint8Array(await c.req.arrayBuffer());
  try {
    const reply = await send(`${values.prefix}.${plugin}.${method}`, body);
    // nats payloads are backed by a plain ArrayBuffer
    return new Response(reply as Uint8Array<ArrayBuffer>, { status: 200, headers: JSON_HEADERS });
  } catch (err) {
    if (err instanceof MuxRequestError) return failure(err.code === "timeout" ? 504 : 503, err.code);
    if (err instanceof TimeoutError) return failure(504, "timeout");
    if (err instanceof RequestError && err.isNoResponders()) return failure(503, "no_responders");
    return failure(502, "plugin_error");
  }
});

const port = await serveNative(app.fetch, Number(values.port));
process.stdout.write(`${JSON.stringify({ msg: "gateway ready", runtime: RUNTIME, mode, port })}\n`);
process.on("SIGTERM", () => process.exit(0));
