/**
 * The router's and plugin host's own JavaScript cost per request, without an HTTP server or load
 * generator in the way: one process holds a real nats-server connection, and
 *   - `floor`: the hand-written Hono gateway handler (request mux, no checks) → a bare responder;
 *   - `switchyard`: `createRouter()` with discovery → the hello plugin served by `servePlugin()`.
 * Each sends N requests through `app.fetch()` with C in flight and prints CPU µs per request
 * (user + system of this process, which runs both sides). Profile one side with the runtime's CPU
 * profiler to see where the difference goes.
 *
 *   <runtime> bench/in_process.ts [--requests 50000] [--concurrency 64] [--only floor|switchyard]
 * @module
 */
import process from "node:process";
import { parseArgs } from "node:util";
import { Hono } from "hono";
import { connectBus, RequestMux } from "../src/bus/mod.ts";
import { pipelineSettings, resolveConfig } from "../src/config/mod.ts";
import { RequestPipeline } from "../src/pipeline/mod.ts";
import { Registry, startDiscovery } from "../src/registry/mod.ts";
import { createRouter } from "../src/router/mod.ts";
import { servePlugin } from "../src/host/mod.ts";
import { systemClock, noopLogger } from "../src/deps.ts";
import { startNatsServer, waitFor } from "../src/testing/mod.ts";
import hello from "../plugins/hello/mod.ts";
import { RequestMux as FloorMux } from "./request_mux.ts";

const { values } = parseArgs({
  args: process.argv.slice(2),
  options: {
    requests: { type: "string", default: "50000" },
    concurrency: { type: "string", default: "64" },
    only: { type: "string" },
  },
});
const N = Number(values.requests);
const C = Number(values.concurrency);
const BODY = JSON.stringify({ name: "World" });

async function drive(name: string, fetch: (req: Request) => Response | Promise<Response>): Promise<void> {
  const once = async () => {
    const res = await fetch(new Request("http://x/v1/hello/greet", { method: "POST", body: BODY, headers: { "content-type": "application/json", "content-length": String(BODY.length) } }));
    if (res.status !== 200) throw new Error(`${name}: status ${res.status}: ${await res.text()}`);
    await res.arrayBuffer();
  };
  for (let i = 0; i < 2_000; i++) await once(); // warm-up
  let left = N;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await Promise.all(Array.from({ length: C }, async () => {
    while (left-- > 0) await once();
  }));
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const us = (cpu.user + cpu.system) / N;
  process.stdout.write(`${name.padEnd(11)} ${(N / ms * 1000).toFixed(0).padStart(7)} req/s  ${us.toFixed(1).padStart(6)} CPU µs/req (router and plugin side together)\n`);
}

await using nats = await startNatsServer();
const pluginNc = await connectBus({ servers: [nats.url], name: "bench-plugin" });
const routerNc = await connectBus({ servers: [nats.url], name: "bench-router" });

if (values.only !== "switchyard") {
  const reply = new TextEncoder().encode(JSON.stringify({ message: "Hello, World" }));
  pluginNc.subscribe("floor.hello.greet", { queue: "floor", callback: (_e, m) => void m.respond(reply) });
  await pluginNc.flush();
  const mux = new FloorMux(routerNc, 5_000);
  const app = new Hono();
  const NAME = /^[a-zA-Z][a-zA-Z0-9_-]{0,62}$/;
  app.post("/v1/:plugin/:method", async (c) => {
    const plugin = c.req.param("plugin");
    const method = c.req.param("method");
    if (!NAME.test(plugin) || !NAME.test(method)) return c.json({ error: { code: "not_found" } }, 404);
    const body = new Uint8Array(await c.req.arrayBuffer());
    const data = await mux.request(`floor.${plugin}.${method}`, body);
    return new Response(data as Uint8Array<ArrayBuffer>, { status: 200, headers: { "content-type": "application/json" } });
  });
  await drive("floor", app.fetch);
  mux.close();
}

if (values.only !== "floor") {
  const host = await servePlugin(hello, pluginNc, { instanceId: "bench-1" });
  const config = resolveConfig({}, {});
  const registry = new Registry(config.prefix);
  const mux = new RequestMux(routerNc);
  const discovery = startDiscovery(routerNc, registry, { prefix: config.prefix, mux, intervalMs: 60_000 }, { clock: systemClock, logger: noopLogger });
  await discovery.refresh();
  await waitFor(() => registry.pick("hello", undefined) != null, { timeoutMs: 5_000, message: "hello discovered" });
  const pipeline = new RequestPipeline({ registry, mux, settings: pipelineSettings(config), clock: systemClock, logger: noopLogger });
  const app = createRouter({ pipeline, settings: () => config });
  await drive("switchyard", app.fetch);
  discovery.stop();
  await host.drain({ timeoutMs: 1_000 });
}
await routerNc.close();
await pluginNc.close();
process.exit(0);
