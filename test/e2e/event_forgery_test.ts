import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as v from "valibot";
import { connectBus } from "../../src/bus/mod.ts";
import { currentRuntime } from "../../src/runtime/mod.ts";
import { Supervisor, SupervisorSchema } from "../../src/supervisor/mod.ts";
import type { PluginSpec } from "../../src/supervisor/mod.ts";
import { captureLogger, startNatsServer, waitFor } from "../../src/testing/mod.ts";
import { CLI, fixturePath } from "./_stack.ts";

test("a forged `started` for a new instance, from another plugin's credentials, does not make a blue-green swap drain the old instance early", async () => {
  const dir = mkdtempSync(join(tmpdir(), "sy-forge-"));
  // The forger holds the credentials of a plugin "forger": NATS lets it publish its own events only.
  await using nats = await startNatsServer({
    config: `authorization { users: [
      { user: supervisor, password: supervisor-secret }
      { user: gated, password: gated-secret }
      { user: forger, password: forger-secret, permissions: { publish: { allow: ["sy.$events.forger"] }, subscribe: { allow: ["_INBOX.>"] } } }
    ] }`,
  });
  const nc = await connectBus({ servers: [nats.url], user: "supervisor", pass: "supervisor-secret" });
  const forger = await connectBus({ servers: [nats.url], user: "forger", pass: "forger-secret" });
  const logs = captureLogger();
  const lines: string[] = [];
  const supervisor = new Supervisor({
    nc,
    natsUrl: nats.url,
    prefix: "sy",
    cli: CLI,
    settings: v.parse(SupervisorSchema, { startTimeoutMs: 60_000, drainTimeoutMs: 2_000 }),
    output: (id, line) => lines.push(`[${id}] ${line}`),
    logger: logs,
  });
  const spec: PluginSpec = {
    name: "gated",
    module: fixturePath("gated"),
    runtime: currentRuntime(),
    replicas: 1,
    env: {},
    args: [],
    runtimeArgs: [],
    options: undefined,
    requires: {},
    watchDir: undefined,
    nats: { user: "gated", pass: "gated-secret" },
  };
  try {
    assert.equal(await supervisor.start([spec]), true, lines.join("\n"));
    const old = supervisor.get("gated")!.instances()[0]!;
    // A changed env replaces the instance blue-green; the new one holds in init until the gate file exists.
    const gate = join(dir, "open");
    let settled = false;
    const swapping = supervisor.apply([{ ...spec, env: { GATE_FILE: gate } }]).finally(() => settled = true);
    const starting = () =>
      logs.entries.find((e) => e.msg === "instance starting" && e.attrs.instance !== old.id)?.attrs
        .instance as string | undefined;
    await waitFor(
      () =>
        starting() !== undefined &&
        lines.some((l) => l.startsWith(`[${starting()}]`) && l.includes("waiting for the gate")),
      {
        timeoutMs: 30_000,
        message: () => `the new instance to wait at its gate:\n${lines.join("\n")}`,
      },
    );
    const fresh = starting()!;

    // Forged on the subject its credentials allow, for the instance the supervisor waits for:
    // once claiming to be "gated", once as itself.
    for (const name of ["gated", "forger"]) {
      forger.publish(
        "sy.$events.forger",
        JSON.stringify({
          type: "started",
          info: {
            type: "io.nats.micro.v1.info_response",
            name,
            id: fresh,
            version: "6.6.6",
            metadata: {},
            description: "",
            endpoints: [],
          },
        }),
      );
    }
    await forger.flush();
    await waitFor(
      () =>
        settled ||
        logs.entries.some((e) => e.msg.startsWith("instance event ignored") && e.attrs.instance === fresh),
      { timeoutMs: 30_000 },
    );
    assert.equal(settled, false, "the swap did not complete on a forged event");
    const ignored = logs.entries.filter((e) => e.msg.startsWith("instance event ignored"));
    assert.equal(ignored.length, 1, "logged once per instance");
    assert.deepEqual({ ...ignored[0]!.attrs }, {
      instance: fresh,
      plugin: "gated",
      subject: "sy.$events.forger",
      claims: "gated",
    });
    assert.equal(old.state, "running", "the old instance keeps serving");
    assert.equal(old.exitInfo, undefined);

    // The real start completes the swap.
    writeFileSync(gate, "");
    await swapping;
    const now = supervisor.get("gated")!.instances()[0]!;
    assert.equal(now.id, fresh);
    assert.equal(now.state, "running");
    assert.equal(now.version, "1.0.0", "the version of its own event, not the forged one");
    await waitFor(() => old.exitInfo !== undefined, { timeoutMs: 10_000 });
  } finally {
    await supervisor.stop();
    await forger.close();
    await nc.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
