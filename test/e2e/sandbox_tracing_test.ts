/**
 * A sandboxed Deno plugin with tracing configured: it starts, and its spans reach the collector its
 * environment names, through a sandbox that grants that endpoint and nothing more.
 * @module
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { fileURLToPath } from "node:url";
import {
  denoSandboxFlags,
  findPlugins,
  otlpTraceHost,
  startPluginProcess,
} from "../../src/supervisor/mod.ts";
import type { PluginProcess } from "../../src/supervisor/mod.ts";
import { startOtlpReceiver } from "../../src/testing/otlp_receiver.ts";
import type { OtlpReceiver } from "../../src/testing/otlp_receiver.ts";
import { waitFor } from "../../src/testing/mod.ts";
import { CLI, fixturePath, startStack } from "./_stack.ts";
import type { Stack } from "./_stack.ts";

const FIXTURES = fileURLToPath(new URL("../fixtures/", import.meta.url));
const base = { pluginDir: "/p", natsServers: ["nats://127.0.0.1:4222"] };

test("otlpTraceHost() is the host:port the SDK exports to, or undefined when it exports nothing", () => {
  assert.equal(otlpTraceHost({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://127.0.0.1:4318" }), "127.0.0.1:4318");
  assert.equal(
    otlpTraceHost({
      OTEL_EXPORTER_OTLP_ENDPOINT: "http://ignored:1",
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "https://collector.example/v1/traces",
    }),
    "collector.example:443",
  );
  assert.equal(otlpTraceHost({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector" }), "collector:80");
  assert.equal(otlpTraceHost({ OTEL_EXPORTER_OTLP_ENDPOINT: "collector:4317" }), "collector:4317");
  assert.equal(otlpTraceHost({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://[::1]:4318" }), "[::1]:4318");
  assert.equal(otlpTraceHost({}), undefined);
  assert.equal(otlpTraceHost({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://" }), undefined);
  assert.equal(
    otlpTraceHost({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:1", OTEL_SDK_DISABLED: "true" }),
    undefined,
  );
  assert.equal(
    otlpTraceHost({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:1", OTEL_TRACES_EXPORTER: "none" }),
    undefined,
  );
});

test("denoSandboxFlags() allows the OTLP endpoint of the instance's environment, and reads the SDK's extra variables as unset", () => {
  const env = { OTEL_EXPORTER_OTLP_ENDPOINT: "http://127.0.0.1:4318" };
  const flags = denoSandboxFlags({ read: ["./data"] }, { ...base, env });
  assert.deepEqual(flags.filter((f) => f.startsWith("--allow-net")), [
    "--allow-net=127.0.0.1:4222,127.0.0.1:4318",
  ]);
  assert.ok(flags.includes("--ignore-env=DEBUG,GRPC_*"), flags.join(" "));
  assert.ok(!flags.some((f) => /^--allow-(sys|ffi|all)|^-A$/.test(f)), flags.join(" "));
  // No endpoint, no extra network.
  assert.deepEqual(denoSandboxFlags({}, { ...base, env: {} }).filter((f) => f.startsWith("--allow-net")), [
    "--allow-net=127.0.0.1:4222",
  ]);
  // Without trace export the SDK does not load: nothing is ignored.
  assert.ok(!denoSandboxFlags({}, { ...base, env: {} }).some((f) => f.startsWith("--ignore-env")));
  assert.ok(!denoSandboxFlags({}, base).some((f) => f.startsWith("--ignore-env")));
  // An exporter without an endpoint loads the SDK (it would export to its default): ignored names, no network.
  const bare = denoSandboxFlags({}, { ...base, env: { OTEL_TRACES_EXPORTER: "otlp" } });
  assert.ok(
    bare.includes("--ignore-env=DEBUG,GRPC_*") && bare.includes("--allow-net=127.0.0.1:4222"),
    bare.join(" "),
  );
  // A name the manifest grants is not ignored (Deno would let the ignore win); all granted, none ignored.
  assert.ok(denoSandboxFlags({ env: ["GRPC_TRACE"] }, { ...base, env }).includes("--ignore-env=DEBUG"));
  assert.ok(denoSandboxFlags({ env: ["DEB*"] }, { ...base, env }).includes("--ignore-env=GRPC_*"));
  assert.ok(!denoSandboxFlags({ env: true }, { ...base, env }).some((f) => f.startsWith("--ignore-env")));
});

// Whatever runtime runs this file, the instances are Deno processes started by the supervisor.
describe("a sandboxed Deno plugin with OTEL_EXPORTER_OTLP_ENDPOINT set", () => {
  let stack: Stack;
  let collector: OtlpReceiver;
  let dir: string;
  const running: PluginProcess[] = [];
  const lines: string[] = [];
  const live = (plugin: string) =>
    [...stack.router.registry.get(plugin)?.versions.values() ?? []].reduce((n, v) => n + v.instances.size, 0);
  const start = (label: string, module: string, permissions: unknown, protocol: string) => {
    const p = startPluginProcess({
      label,
      runtime: "deno",
      cli: CLI,
      module,
      natsUrl: stack.nats.url,
      requires: {},
      permissions: permissions as never,
      env: {
        OTEL_EXPORTER_OTLP_ENDPOINT: collector.url,
        OTEL_EXPORTER_OTLP_PROTOCOL: protocol,
        OTEL_BSP_SCHEDULE_DELAY: "50",
        OTEL_SERVICE_NAME: "",
        OTEL_TRACES_SAMPLER: "always_on",
      },
      onLine: (_label, line) => lines.push(`[${label}] ${line}`),
    });
    running.push(p);
    return p;
  };
  before(async () => {
    stack = await startStack([]);
    collector = await startOtlpReceiver();
    dir = mkdtempSync(join(tmpdir(), "switchyard-sandbox-tracing-"));
  });
  after(async () => {
    await Promise.all(running.map((p) => p.stop(5_000)));
    await collector?.close();
    await stack?.[Symbol.asyncDispose]();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  for (const protocol of ["http/protobuf", "http/json"]) {
    test(`starts, serves, and exports its spans (${protocol}); its sandbox is otherwise the same`, async () => {
      const folder = findPlugins(FIXTURES).find((f) => f.name === "sandboxed")!;
      const instance = start("sandboxed", fixturePath("sandboxed"), folder.permissions, protocol);
      await stack.waitForInstances("sandboxed", 1).catch((err) => {
        throw new Error(`${(err as Error).message}; its lines:\n${lines.join("\n")}`);
      });
      assert.ok(lines.some((l) => l.includes("tracing on")), lines.join("\n"));
      const before = collector.spans.length;
      assert.deepEqual((await stack.post("sandboxed/ping", {})).body, { pong: true });
      await waitFor(
        () =>
          collector.spans.slice(before).some((s) =>
            s.service === "plugin-sandboxed" && s.name === "process sandboxed.ping"
          ),
        {
          timeoutMs: 15_000,
          message: () => `the plugin's span at the collector; its lines:\n${lines.join("\n")}`,
        },
      );
      const denied = await stack.post("sandboxed/read", { path: "/etc/passwd" });
      assert.equal(denied.body.ok, false);
      assert.match(String(denied.body.error), /NotCapable|Requires read access/);
      await instance.stop(5_000);
      await waitFor(() => live("sandboxed") === 0, { timeoutMs: 10_000, message: "the instance gone" });
    });
  }

  // Only grpc still loads the SDK (OTLP over HTTP is the lean tracer's, which reads neither variable).
  test("when the SDK still cannot start (grpc, a manifest granting DEBUG and GRPC_*, so nothing is ignored), it serves untraced and says why", async () => {
    mkdirSync(join(dir, "granted"));
    writeFileSync(
      join(dir, "granted", "mod.ts"),
      `export { default } from ${JSON.stringify(fixturePath("sandboxed"))};\n`,
    );
    const permissions = { read: [join(FIXTURES, "sandboxed", "data")], env: ["DEBUG", "GRPC_*"] };
    writeFileSync(join(dir, "granted", "plugin.json"), JSON.stringify({ permissions }));
    start("granted", join(dir, "granted", "mod.ts"), permissions, "grpc");
    await stack.waitForInstances("sandboxed", 1).catch((err) => {
      throw new Error(`${(err as Error).message}; its lines:\n${lines.join("\n")}`);
    });
    assert.ok(
      lines.some((l) =>
        l.startsWith("[granted]") && /tracing is off: the OpenTelemetry SDK could not start/.test(l)
      ),
      lines.join("\n"),
    );
    assert.deepEqual((await stack.post("sandboxed/ping", {})).body, { pong: true });
  });
});
