import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { nkeys } from "@nats-io/nats-core";
import { connectBus } from "../../src/bus/mod.ts";
import { resolveConfig } from "../../src/config/mod.ts";
import { startRouter } from "../../src/cli/router_command.ts";
import { currentRuntime, runtimeCommand } from "../../src/runtime/mod.ts";
import { captureLogger, spawnProcess, startNatsServer, waitFor } from "../../src/testing/mod.ts";
import { CLI, pluginPath } from "./_stack.ts";

const tlsFile = (name: string) => fileURLToPath(new URL(`../fixtures/tls/${name}`, import.meta.url));

test("nkey seed files authenticate the router and a plugin process; a connection without one is refused", async () => {
  const user = nkeys.createUser();
  const dir = mkdtempSync(join(tmpdir(), "switchyard-nkey-"));
  const seedFile = join(dir, "user.nk");
  writeFileSync(seedFile, new TextDecoder().decode(user.getSeed()));
  await using nats = await startNatsServer({ config: `authorization { users: [ { nkey: ${user.getPublicKey()} } ] }` });
  try {
    await assert.rejects(connectBus({ servers: [nats.url], maxReconnectAttempts: 0 }), /Authorization|authorization/);
    const router = await startRouter(resolveConfig({ nats: { servers: [nats.url], nkeySeedFile: seedFile }, router: { host: "127.0.0.1", port: 0 } }, {}), captureLogger());
    const plugin = spawnProcess(runtimeCommand(currentRuntime(), CLI, ["plugin", pluginPath("hello"), "--nats", nats.url]), {
      name: "hello",
      env: { NATS_NKEY: seedFile },
    });
    try {
      await plugin.waitForLine("plugin ready", 60_000);
      await waitFor(() => Boolean(router.registry.pick("hello", undefined)), { timeoutMs: 10_000, message: "hello in the registry" });
      const res = await fetch(`http://127.0.0.1:${router.port}/v1/hello/greet`, { method: "POST", headers: { "content-type": "application/json" }, body: '{"name":"nkey"}' });
      assert.equal(res.status, 200);
    } finally {
      await plugin.stop(5_000);
      await router.stop();
    }
    await assert.rejects(
      startRouter(resolveConfig({ nats: { servers: [nats.url], nkeySeedFile: join(dir, "missing.nk") } }, {}), captureLogger()),
      /Cannot read the NATS nkey seed file/,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("NATS over TLS with a private CA and a client certificate the server verifies", async () => {
  await using nats = await startNatsServer({
    config: `tls { cert_file: ${JSON.stringify(tlsFile("server.crt"))}, key_file: ${JSON.stringify(tlsFile("server.key"))}, ca_file: ${JSON.stringify(tlsFile("ca.crt"))}, verify: true }`,
  });
  const url = `tls://127.0.0.1:${nats.port}`;
  const nc = await connectBus({ servers: [url], tls: { caFile: tlsFile("ca.crt"), certFile: tlsFile("alice.crt"), keyFile: tlsFile("alice.key") }, maxReconnectAttempts: 0 });
  try {
    const sub = nc.subscribe("t.tls", { max: 1 });
    nc.publish("t.tls", "over tls");
    for await (const m of sub) assert.equal(m.string(), "over tls");
  } finally {
    await nc.close();
  }
  await assert.rejects(connectBus({ servers: [url], tls: { caFile: tlsFile("ca.crt") }, maxReconnectAttempts: 0 }), "no client certificate: refused");
});
