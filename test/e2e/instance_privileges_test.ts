import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { nkeys } from "@nats-io/nats-core";
import type { NatsConnection } from "@nats-io/nats-core";
import { connectBus } from "../../src/bus/mod.ts";
import { resolveConfig } from "../../src/config/mod.ts";
import { startRouter } from "../../src/cli/router_command.ts";
import type { StartedRouter } from "../../src/cli/router_command.ts";
import { currentRuntime, runtimeCommand } from "../../src/runtime/mod.ts";
import { hashPluginCode, INHERITED_ENV, requestPs } from "../../src/supervisor/mod.ts";
import { captureLogger, spawnProcess, startNatsServer, waitFor } from "../../src/testing/mod.ts";
import type { NatsServer, ProcessHandle } from "../../src/testing/mod.ts";
import { CLI, fixturePath } from "./_stack.ts";

/** Secrets in the supervisor's environment and on its disk that no instance may see. */
const SECRET_VALUES = ["hunter2", "otel-bearer-secret"];

describe("least privilege: what a probe plugin started by `switchyard up` can see", () => {
  let nats: NatsServer;
  let dir: string;
  let seedFile: string;
  let up: ProcessHandle;
  let router: StartedRouter;
  let nc: NatsConnection;
  const call = async (plugin: string, method: string, body: unknown) => {
    const res = await fetch(`http://127.0.0.1:${router.port}/v1/${plugin}/${method}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    const text = await res.text();
    assert.equal(res.status, 200, text);
    return JSON.parse(text);
  };
  const credentialsOf = async (plugin: string) => {
    const { argv } = await call(plugin, "argv", {});
    const at = argv.indexOf("--nats-credentials");
    assert.ok(at > 0, `an instance gets --nats-credentials: ${argv.join(" ")}`);
    return argv[at + 1] as string;
  };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "sy-least-"));
    const supervisor = nkeys.createUser();
    seedFile = join(dir, "supervisor.nk");
    writeFileSync(seedFile, new TextDecoder().decode(supervisor.getSeed()), { mode: 0o600 });
    nats = await startNatsServer({
      config: `authorization { users: [
        { nkey: ${supervisor.getPublicKey()} }
        { user: router, password: router-secret }
        { user: probe, password: probe-secret }
        { user: probe-deno, password: probe-deno-secret }
      ] }`,
    });
    const config = join(dir, "switchyard.config.json");
    writeFileSync(
      config,
      JSON.stringify({
        allowList: {
          plugins: {
            probe: hashPluginCode(fixturePath("probe")).digest,
            "probe-deno": hashPluginCode(fixturePath("probe-deno")).digest,
          },
          auditLog: join(dir, "audit.jsonl"),
          codeCache: join(dir, "code"),
        },
        plugins: {
          probe: {
            module: fixturePath("probe"),
            env: { PROBE_GREETING: "hi" },
            nats: { user: "probe", pass: "probe-secret" },
          },
          "probe-deno": {
            module: fixturePath("probe-deno"),
            runtime: "deno",
            nats: { user: "probe-deno", pass: "probe-deno-secret", inboxPrefix: "_INBOX_probe_deno" },
          },
        },
      }),
    );
    up = spawnProcess(
      runtimeCommand(currentRuntime(), CLI, [
        "up",
        "--config",
        config,
        "--nats",
        nats.url,
        "--log-format",
        "pretty",
      ]),
      {
        name: "up",
        // The supervisor's own secrets: its NATS nkey (a NATS_* variable naming a file), a database
        // password, the collector's bearer token, and a variable the probe's manifest asks for.
        env: {
          NATS_NKEY: seedFile,
          DATABASE_PASSWORD: "hunter2",
          OTEL_EXPORTER_OTLP_HEADERS: "authorization=Bearer otel-bearer-secret",
          PROBE_REQUESTED: "yes",
          NATS_URL: undefined,
        },
      },
    );
    router = await startRouter(
      resolveConfig({
        nats: { servers: [nats.url], user: "router", pass: "router-secret" },
        router: { host: "127.0.0.1", port: 0 },
      }, {}),
      captureLogger(),
    );
    nc = await connectBus({ servers: [nats.url], user: "router", pass: "router-secret" });
    await up.waitForLine("supervisor up", 60_000);
    await waitFor(
      () =>
        Boolean(router.registry.pick("probe", undefined)) &&
        Boolean(router.registry.pick("probe-deno", undefined)),
      {
        timeoutMs: 20_000,
        message: () => `both probes in the registry; up said:\n${up.lines.slice(-30).join("\n")}`,
      },
    );
  });
  after(async () => {
    await up?.stop(20_000);
    await nc?.close();
    await router?.stop();
    await nats?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test("its environment holds only the bare necessities, its config env and what its approved manifest asks for; never the supervisor's NATS_* or other secrets", async () => {
    const names = [
      "PATH",
      "HOME",
      "PROBE_GREETING",
      "PROBE_REQUESTED",
      "NATS_NKEY",
      "NATS_URL",
      "DATABASE_PASSWORD",
      "OTEL_EXPORTER_OTLP_HEADERS",
      "SWITCHYARD_PARENT_PID",
    ];
    const whole: string[] = [];
    for (const plugin of ["probe", "probe-deno"]) {
      const { all, named } = await call(plugin, "env", { names });
      // deno-lint-ignore no-console
      console.log(`${plugin} sees: ${JSON.stringify(all ?? named)}`);
      assert.equal(named.NATS_NKEY, null, `${plugin}: the supervisor's NATS_NKEY`);
      assert.equal(named.NATS_URL, null);
      assert.equal(named.DATABASE_PASSWORD, null, `${plugin}: the supervisor's other secrets`);
      assert.equal(named.OTEL_EXPORTER_OTLP_HEADERS, null, `${plugin}: the collector's credentials`);
      // A Deno probe whose manifest names only some variables cannot read the others: the whole
      // environment is checked where it can be read (probe-deno may read every variable).
      if (all !== null) {
        assert.ok(all.PATH && all.HOME, `${plugin}: PATH and HOME`);
        assert.equal(all.SWITCHYARD_PARENT_PID, String(up.pid));
        for (const value of Object.values(all as Record<string, string>)) {
          assert.ok(
            !SECRET_VALUES.some((s) => value.includes(s)) && !value.includes(seedFile),
            `${plugin}: no secret in ${value}`,
          );
        }
        const expected = new Set([
          "PROBE_GREETING",
          "PROBE_REQUESTED",
          "SWITCHYARD_PARENT_PID",
          "NODE_COMPILE_CACHE",
        ]);
        const inherited = (n: string) =>
          INHERITED_ENV.some((w) => (w.endsWith("*") ? n.startsWith(w.slice(0, -1)) : n === w));
        const extra = Object.keys(all).filter((n) => !expected.has(n) && !inherited(n));
        assert.deepEqual(extra, [], `${plugin}: nothing else`);
        whole.push(plugin);
      }
    }
    assert.ok(whole.includes("probe-deno"), "the sandboxed probe could read its whole environment");
    const probe = (await call("probe", "env", { names })).named;
    assert.equal(probe.PROBE_GREETING, "hi", "its config env");
    assert.equal(probe.PROBE_REQUESTED, "yes", "what its approved manifest asks for (PROBE_*)");
    assert.ok(
      up.lines.some((l) => l.includes("not passed on although the manifest asks for them: NATS_*")),
      "the withheld request is reported",
    );
  });

  test("each instance connects with its own credentials, from a 0600 file in a 0700 folder of its own that is gone when it exits", async () => {
    const file = await credentialsOf("probe");
    const folder = dirname(file);
    assert.equal(statSync(folder).mode & 0o777, 0o700);
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.deepEqual(JSON.parse(readFileSync(file, "utf8")), { user: "probe", pass: "probe-secret" });
    const denoFile = await credentialsOf("probe-deno");
    assert.notEqual(dirname(denoFile), folder);
    assert.deepEqual(JSON.parse(readFileSync(denoFile, "utf8")), {
      user: "probe-deno",
      pass: "probe-deno-secret",
      inboxPrefix: "_INBOX_probe_deno",
    });
    // The sandboxed instance reads its own file, and neither the other instance's nor the supervisor's.
    assert.equal((await call("probe-deno", "read", { path: denoFile })).ok, true);
    for (const path of [file, seedFile]) {
      const denied = await call("probe-deno", "read", { path });
      assert.equal(denied.ok, false, `probe-deno read ${path}`);
      assert.match(denied.error, /NotCapable|Requires read access/);
    }
    assert.equal(
      (await call("probe-deno", "read", {
        path: join(dirname(fixturePath("probe-deno")), "data", "note.txt"),
      })).ok,
      true,
      "its granted ./data",
    );

    // Restart the probe: its old folder goes with the old process.
    const [before] = (await requestPs(nc, "sy")).flatMap((s) => s.instances).filter((i) =>
      i.plugin === "probe"
    );
    process.kill(before!.pid!, "SIGKILL");
    await waitFor(() => !existsSync(folder), {
      timeoutMs: 10_000,
      message: `${folder} removed after the instance died`,
    });
    await waitFor(
      async () =>
        (await requestPs(nc, "sy")).flatMap((s) => s.instances).some((i) =>
          i.plugin === "probe" && i.state === "running" && i.id !== before!.id
        ),
      {
        timeoutMs: 20_000,
      },
    );
    const again = await credentialsOf("probe");
    assert.notEqual(again, file, "a new folder for the new instance");
  });

  test("the audit log has each instance's verified copy and digest", () => {
    const lines = readFileSync(join(dir, "audit.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l));
    const started = lines.filter((l) => l.type === "plugin_started");
    assert.ok(
      started.some((l) =>
        l.plugin === "probe-deno" && l.digest === hashPluginCode(fixturePath("probe-deno")).digest &&
        l.codeDir.startsWith(join(dir, "code"))
      ),
    );
    assert.ok(
      started.some((l) => l.plugin === "probe" && l.digest === hashPluginCode(fixturePath("probe")).digest),
    );
  });
});
