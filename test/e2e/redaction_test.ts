/**
 * Credentials given on the command line never reach a log line or the exported OpenTelemetry
 * resource: a router and a plugin process connect to a password-protected nats-server with the
 * password in `--nats`, export spans to a real OTLP receiver, and neither their output nor the
 * resource (`process.command_args`) holds the password.
 * @module
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { currentRuntime, runtimeCommand } from "../../src/runtime/mod.ts";
import { spawnProcess, startNatsServer, waitFor } from "../../src/testing/mod.ts";
import { startOtlpReceiver } from "../../src/testing/otlp_receiver.ts";
import { CLI, pluginPath } from "./_stack.ts";
import { startRouterProcess } from "./_router_process.ts";

const PASSWORD = "n4ts-pa55-e2e-only";
const OPTION_SECRET = "opt-s3cret-e2e-only";

test("a password in --nats is neither logged (router ready) nor exported in process.command_args", async () => {
  await using nats = await startNatsServer({
    config: `authorization { user: router, password: "${PASSWORD}" }`,
  });
  await using receiver = await startOtlpReceiver();
  const natsUrl = nats.url.replace("nats://", `nats://router:${PASSWORD}@`);
  const env = {
    OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
    OTEL_BSP_SCHEDULE_DELAY: "50",
    OTEL_TRACES_SAMPLER: undefined,
    OTEL_SERVICE_NAME: undefined,
    NATS_URL: undefined,
  };
  await using plugin = spawnProcess(
    runtimeCommand(currentRuntime(), CLI, [
      "plugin",
      pluginPath("hello"),
      "--nats",
      natsUrl,
      "--options",
      JSON.stringify({ apiToken: OPTION_SECRET }),
    ]),
    { name: "hello", env },
  );
  await using router = await startRouterProcess(natsUrl, { env, plugins: ["hello"] });
  assert.deepEqual(
    router.ready.nats,
    [nats.url.replace("nats://", "nats://router:***@")],
    "the user stays, the password goes",
  );
  const res = await fetch(`${router.url}/v1/hello/greet`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: '{"name":"x"}',
  });
  assert.equal(res.status, 200);
  await res.arrayBuffer();
  // One export from each process: the router's span and the plugin's.
  await waitFor(() => new Set(receiver.resources.map((r) => r["service.name"])).size >= 2, {
    timeoutMs: 15_000,
    message: () =>
      `spans from both processes (have: ${receiver.resources.map((r) => r["service.name"]).join(", ")})`,
  });
  for (const resource of receiver.resources) {
    const args = resource["process.command_args"];
    assert.ok(
      Array.isArray(args) && args.some((a) => a.endsWith("main.ts")),
      `${resource["service.name"]} exports its command line: ${JSON.stringify(args)}`,
    );
    const natsArg = args[args.indexOf("--nats") + 1];
    assert.equal(
      natsArg,
      nats.url.replace("nats://", "nats://router:***@"),
      String(resource["service.name"]),
    );
    assert.ok(
      !JSON.stringify(resource).includes(PASSWORD),
      `the resource of ${resource["service.name"]} holds no password`,
    );
    assert.ok(
      !JSON.stringify(resource).includes(OPTION_SECRET),
      `the resource of ${resource["service.name"]} holds no option secret`,
    );
  }
  for (const line of [...router.lines, ...plugin.lines]) {
    assert.ok(!line.includes(PASSWORD) && !line.includes(OPTION_SECRET), `logged a secret: ${line}`);
  }
});
