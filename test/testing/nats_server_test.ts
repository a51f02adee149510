import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { connect as tcpConnect } from "node:net";
import { connect } from "@nats-io/transport-node";
import { startNatsServer, waitFor } from "../../src/testing/mod.ts";

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = tcpConnect({ port, host: "127.0.0.1" });
    socket.once("connect", () => resolve(true)).once("error", () => resolve(false));
    socket.once("connect", () => socket.destroy());
  });
}

test("startNatsServer() serves request/reply on a loopback port it picked", async () => {
  await using server = await startNatsServer();
  assert.match(server.url, /^nats:\/\/127\.0\.0\.1:\d+$/);
  assert.equal(server.url, `nats://127.0.0.1:${server.port}`);
  const nc = await connect({ servers: server.url });
  try {
    nc.subscribe("echo.test", { callback: (_err, msg) => void msg.respond(`echo:${msg.string()}`) });
    const reply = await nc.request("echo.test", "hi", { timeout: 2000 });
    assert.equal(reply.string(), "echo:hi");
  } finally {
    await nc.close();
  }
});

test("startNatsServer() appends extra config and opens websocket and monitoring ports", async () => {
  await using server = await startNatsServer({
    config: "max_payload: 4096",
    websocket: true,
    monitoring: true,
  });
  assert.match(server.wsUrl ?? "", /^ws:\/\/127\.0\.0\.1:\d+$/);
  assert.ok(await accepts(Number(new URL(server.wsUrl!).port)));
  const varz = (await (await fetch(`${server.monitorUrl}/varz`)).json()) as { max_payload: number };
  assert.equal(varz.max_payload, 4096);
  const nc = await connect({ servers: server.url });
  assert.equal(nc.info?.max_payload, 4096);
  await nc.close();
});

test("NatsServer.stop() ends the process, frees the port and removes the temp dir", async () => {
  const server = await startNatsServer();
  assert.ok(existsSync(server.dir));
  await server.stop();
  // nats-server handles SIGTERM itself: it shuts down cleanly and exits (with code 1 in v2.9).
  assert.equal((await server.exited).signal, null);
  assert.ok(server.logs().some((line) => line.includes("Server Exiting")), server.logs().join("\n"));
  assert.equal(existsSync(server.dir), false);
  assert.equal(await accepts(server.port), false);
  await server.stop(); // idempotent
});

test("NatsServer.kill9() kills the server and its clients see the disconnect", async () => {
  const server = await startNatsServer();
  const nc = await connect({ servers: server.url, reconnect: false });
  const closed = nc.closed();
  await server.kill9();
  assert.deepEqual(await server.exited, { code: null, signal: "SIGKILL" });
  await closed;
  assert.equal(nc.isClosed(), true);
  await waitFor(async () => !(await accepts(server.port)), { message: "the port to close" });
});

test("startNatsServer() says how to install nats-server when the binary is missing", async () => {
  await assert.rejects(startNatsServer({ bin: "/nonexistent/nats-server" }), /apt-get install nats-server/);
});

test("startNatsServer() fails fast with the server's log when the config is invalid", async () => {
  const started = Date.now();
  await assert.rejects(startNatsServer({ config: "this is { not valid" }), (err: Error) => {
    assert.match(err.message, /did not start: exited with code \d+/);
    assert.ok(err.message.split("Last log lines:")[1]?.trim(), "includes the server's output");
    return true;
  });
  assert.ok(Date.now() - started < 5000, "does not wait for the start deadline");
});
