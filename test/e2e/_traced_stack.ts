/**
 * A router and one plugin as processes of their own, both exporting every span over OTLP/HTTP to a
 * real receiver here, on a nats-server of their own: the setup of the tracing tests.
 * @module
 */
import { currentRuntime, runtimeCommand } from "../../src/runtime/mod.ts";
import { spawnProcess, startNatsServer } from "../../src/testing/mod.ts";
import type { NatsServer, ProcessHandle } from "../../src/testing/mod.ts";
import { startOtlpReceiver } from "../../src/testing/otlp_receiver.ts";
import type { OtlpReceiver } from "../../src/testing/otlp_receiver.ts";
import { CLI, fixturePath, STARTUP_TIMEOUT_MS } from "./_stack.ts";
import { startRouterProcess } from "./_router_process.ts";
import type { RouterProcess } from "./_router_process.ts";

/** What {@linkcode startTracedStack} started; `stop()` ends it all (also after a failed start). */
export interface TracedStack {
  nats: NatsServer;
  receiver: OtlpReceiver;
  router: RouterProcess;
  plugin: ProcessHandle;
  /** The router's base URL. */
  url: string;
  stop(): Promise<void>;
}

/**
 * Starts the stack with the fixture plugin `fixture` and waits until the router lists it.
 * @param onStarted receives what is started as soon as it is, so that an `after` hook can stop it
 * when start-up fails half way
 */
export async function startTracedStack(
  fixture: string,
  onStarted: (stop: () => Promise<void>) => void,
): Promise<TracedStack> {
  const nats = await startNatsServer();
  const started: { receiver?: OtlpReceiver; router?: RouterProcess; plugin?: ProcessHandle } = {};
  const stop = async () => {
    await Promise.all([started.router?.stop(), started.plugin?.stop()]);
    await started.receiver?.close();
    await nats.stop();
  };
  onStarted(stop);
  const receiver = started.receiver = await startOtlpReceiver();
  const env = {
    OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
    OTEL_BSP_SCHEDULE_DELAY: "50",
    OTEL_TRACES_SAMPLER: undefined,
    OTEL_SERVICE_NAME: undefined,
  };
  const runtime = currentRuntime();
  const plugin = started.plugin = spawnProcess(
    runtimeCommand(runtime, CLI, ["plugin", fixturePath(fixture), "--nats", nats.url]),
    { name: fixture, env },
  );
  // Both start meanwhile; a plugin that fails to start is told at once, not by a wait for the listing.
  const router = started.router = await startRouterProcess(nats.url, { runtime, env });
  await plugin.waitForLine("plugin ready", STARTUP_TIMEOUT_MS);
  // Discovery: the router learns the plugin from its start announcement.
  await router.waitForPlugin(fixture);
  return { nats, receiver, router, plugin, url: router.url, stop };
}
