import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { startNatsServer, waitFor } from "../../src/testing/mod.ts";
import type { NatsServer, ProcessHandle } from "../../src/testing/mod.ts";
import { connectBus } from "../../src/bus/mod.ts";
import { callOverBus, fixturePath, startAll, startPlugin } from "./_stack.ts";
import { startRouterProcess } from "./_router_process.ts";
import { rawHttp } from "./_raw_http.ts";

/** The router with a drain timeout, and a plugin timeout no held request reaches: only the test's release or the drain timeout ends them. */
const startRouter = (natsUrl: string, drainTimeoutMs: number) =>
  startRouterProcess(natsUrl, { config: { router: { drainTimeoutMs }, plugins: { faulty: { timeoutMs: 600_000 } } }, plugins: ["faulty"] });

const post = (url: string, body: unknown) =>
  fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) }).then(
    async (res) => ({ status: res.status, connection: res.headers.get("connection"), body: await res.json() }),
    (err: Error) => ({ refused: err.message }),
  );

describe("router graceful shutdown (SIGTERM)", () => {
  let nats: NatsServer;
  const plugins: ProcessHandle[] = [];
  const releaseHeld = async (key: string) => {
    const nc = await connectBus({ servers: [nats.url] });
    try {
      return await callOverBus(nc, "faulty", "release", { key });
    } finally {
      await nc.close();
    }
  };
  before(async () => {
    nats = await startNatsServer();
    await startAll([startPlugin(fixturePath("faulty"), nats.url, { instanceId: "faulty-1" })], plugins);
  });
  after(async () => {
    await Promise.all(plugins.map((p) => p.stop(5_000)));
    await nats.stop();
  });

  test("16 requests in flight all get 200; new connections are refused or get 503 draining; exit 0 within the drain timeout", async () => {
    await using router = await startRouter(nats.url, 60_000);
    const url = router.url;
    // Held in the plugin until released below, after the SIGTERM: in flight however slow the machine.
    const key = "router-sigterm";
    const held = Array.from({ length: 16 }, () => post(`${url}/v1/faulty/hold`, { key }));
    try {
      await waitFor(async () => (await (await fetch(`${url}/v1/plugins/faulty`)).json()).inFlight === 16, {
        timeoutMs: 30_000,
        message: "16 requests in flight",
      });
      const t0 = Date.now();
      router.kill("SIGTERM");
      await router.waitForLine("shutting down", 30_000);
      // A new connection now: refused (listener closed) or 503 draining with Connection: close.
      const late = await post(`${url}/v1/faulty/calls`, {});
      const health = await fetch(`${url}/health`).then((res) => res.status, () => "refused");
      // And on a fresh TCP connection, not one the fetch pool kept alive.
      const fresh = await rawHttp(Number(new URL(url).port), "POST /v1/faulty/calls HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}").then(
        (r) => r.status,
        () => "refused",
      );
      assert.equal(router.exitStatus, undefined, "the router waits for the 16");
      assert.deepEqual(await releaseHeld(key), { released: 16 });
      const replies = await Promise.all(held);
      const status = await router.exited;
      const exitMs = Date.now() - t0;
      console.log(`router SIGTERM with 16 in flight: ${JSON.stringify(replies.map((r) => "status" in r ? r.status : r))}; a late request: ${JSON.stringify(late)}; /health: ${health}; a new connection: ${fresh}; exit ${status.code} after ${exitMs} ms`);
      assert.deepEqual(replies.map((r) => "status" in r ? r.status : r), Array(16).fill(200));
      if ("refused" in late) assert.ok(late.refused.length > 0);
      else {
        assert.equal(late.status, 503);
        assert.equal(late.body.error.code, "draining");
        assert.equal(late.connection, "close");
      }
      assert.ok(health === 503 || health === "refused", `health ${health}`);
      assert.ok(fresh === 503 || fresh === "refused", `a new connection got ${fresh}`);
      assert.equal(status.code, 0, router.lines.slice(-15).join("\n"));
      assert.ok(router.lines.some((l) => l.includes('"router stopped"') && l.includes('"exitCode":0')));
    } finally {
      await releaseHeld(key);
      await Promise.all(held);
    }
  });

  test("past the drain timeout the requests still in flight get 503 draining and the exit code is 75", async () => {
    await using router = await startRouter(nats.url, 400);
    const url = router.url;
    // Held in the plugin until released below: they cannot finish before the drain times out.
    const key = "router-shutdown";
    const held = Array.from({ length: 4 }, () => post(`${url}/v1/faulty/hold`, { key }));
    try {
      await waitFor(async () => (await (await fetch(`${url}/v1/plugins/faulty`)).json()).inFlight === 4, { timeoutMs: 20_000 });
      const t0 = Date.now();
      router.kill("SIGTERM");
      const replies = await Promise.all(held);
      const status = await router.exited;
      const exitMs = Date.now() - t0;
      console.log(`router SIGTERM past a 400 ms drain timeout: ${JSON.stringify(replies.map((r) => "status" in r ? `${r.status} ${r.body.error?.code}` : r))}; exit ${status.code} after ${exitMs} ms`);
      assert.deepEqual(replies.map((r) => "status" in r ? [r.status, r.body.error?.code] : r), Array(4).fill([503, "draining"]));
      assert.equal(status.code, 75, router.lines.slice(-15).join("\n"));
      // Not the 10 s the plugin's timeout would allow: the drain timeout (400 ms) and the shutdown steps.
      assert.ok(exitMs < 8_000, `exit after ${exitMs} ms\n${router.lines.slice(-25).join("\n")}`);
      assert.ok(router.lines.some((l) => l.includes("drain timed out: aborted requests in flight") && l.includes('"aborted":4')));
    } finally {
      // The plugin still holds what the router gave up on.
      await releaseHeld(key);
      await Promise.all(held);
    }
  });
});
