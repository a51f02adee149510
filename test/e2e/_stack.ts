import { fileURLToPath } from "node:url";
import type { NatsConnection } from "@nats-io/nats-core";
import { versionSubjectBase } from "../../src/bus/mod.ts";
import { currentRuntime, runtimeCommand } from "../../src/runtime/mod.ts";
import type { RuntimeName } from "../../src/runtime/mod.ts";
import { resolveConfig } from "../../src/config/mod.ts";
import type { Config } from "../../src/config/mod.ts";
import type { Clock } from "../../src/deps.ts";
import { startRouter } from "../../src/cli/router_command.ts";
import type { StartedRouter } from "../../src/cli/router_command.ts";
import { captureLogger, spawnProcess, startNatsServer, waitFor } from "../../src/testing/mod.ts";
import type { CaptureLogger, NatsServer, ProcessHandle } from "../../src/testing/mod.ts";

/** How long a plugin process may take to start (and to be discovered) before a test gives up. */
export const STARTUP_TIMEOUT_MS = 60_000;

export const CLI = fileURLToPath(new URL("../../src/cli/main.ts", import.meta.url));
export const pluginPath = (name: string) => fileURLToPath(new URL(`../../plugins/${name}/mod.ts`, import.meta.url));
export const fixturePath = (name: string) => fileURLToPath(new URL(`../fixtures/${name}/mod.ts`, import.meta.url));

/**
 * Calls a plugin method straight over NATS, past the router (which may be refusing the plugin
 * while it drains), e.g. to release requests a latch holds. Resolves with the parsed reply.
 */
export async function callOverBus(nc: NatsConnection, plugin: string, method: string, input: unknown, version = "1.0.0"): Promise<Record<string, unknown>> {
  const reply = await nc.request(`${versionSubjectBase("sy", plugin, version)}.${method}`, JSON.stringify(input), { timeout: 10_000 });
  return reply.json<Record<string, unknown>>();
}

/** Starts `switchyard plugin <module>` as its own process and waits until it serves. */
export async function startPlugin(
  module: string,
  natsUrl: string,
  options: { runtime?: RuntimeName; instanceId?: string; args?: string[] } = {},
): Promise<ProcessHandle> {
  const args = ["plugin", module, "--nats", natsUrl, ...(options.args ?? [])];
  if (options.instanceId !== undefined) args.push("--instance-id", options.instanceId);
  const proc = spawnProcess(runtimeCommand(options.runtime ?? currentRuntime(), CLI, args), { name: module });
  try {
    // A bound for a start that fails, not a wait: many processes starting at once on a loaded
    // machine can take tens of seconds.
    await proc.waitForLine("plugin ready", STARTUP_TIMEOUT_MS);
    return proc;
  } catch (err) {
    // Left running, it would keep the test file's process alive after the failure.
    await proc.stop(2_000);
    throw err;
  }
}

/**
 * Waits for processes being started and adds each one that started to `into` (where the caller
 * stops them), also when another failed: then it throws that failure, after all have settled.
 */
export async function startAll(starting: Promise<ProcessHandle>[], into: ProcessHandle[]): Promise<void> {
  const settled = await Promise.allSettled(starting);
  for (const s of settled) if (s.status === "fulfilled") into.push(s.value);
  const failed = settled.find((s) => s.status === "rejected");
  if (failed !== undefined) throw failed.reason;
}

/** A real nats-server, the real router (in this process, real HTTP), and plugin processes. */
export interface Stack extends AsyncDisposable {
  readonly nats: NatsServer;
  readonly router: StartedRouter;
  readonly url: string;
  readonly logs: CaptureLogger;
  readonly plugins: ProcessHandle[];
  /** POSTs JSON to `/v1/<path>` and returns status, headers and parsed body. */
  post(path: string, body: unknown, headers?: Record<string, string>): Promise<Reply>;
  /** Waits until the router lists `count` live instances of `plugin`. */
  waitForInstances(plugin: string, count: number): Promise<void>;
}

export interface Reply {
  status: number;
  headers: Headers;
  body: any;
  ms: number;
}

/** Options of {@linkcode startStack}. */
export interface StackOptions {
  /** Connect the router over WebSocket (`ws://`, as on edge platforms); plugins stay on TCP. @default false */
  routerOverWebSocket?: boolean;
  /** The router's clock, e.g. an `OffsetClock` the test moves forward. @default the system clock */
  clock?: Clock;
}

export async function startStack(modules: string[], config: Config = {}, options: StackOptions = {}): Promise<Stack> {
  const nats = await startNatsServer({ websocket: options.routerOverWebSocket ?? false });
  const logs = captureLogger();
  const plugins: ProcessHandle[] = [];
  let router: StartedRouter | undefined;
  try {
    const routerNatsUrl = options.routerOverWebSocket ? nats.wsUrl! : nats.url;
    const routerConfig = resolveConfig({ ...config, nats: { servers: [routerNatsUrl] }, router: { host: "127.0.0.1", port: 0, ...config.router } }, {});
    router = await startRouter(routerConfig, logs, options.clock === undefined ? {} : { clock: options.clock });
    const url = `http://127.0.0.1:${router.port}`;
    await startAll(modules.map((m) => startPlugin(m, nats.url)), plugins);
    const started = router;
    const stack: Stack = {
      nats,
      router: started,
      url,
      logs,
      plugins,
      async post(path, body, headers = {}) {
        const t0 = performance.now();
        const res = await fetch(`${url}/v1/${path}`, {
          method: "POST",
          headers: { "content-type": "application/json", ...headers },
          body: typeof body === "string" ? body : JSON.stringify(body),
        });
        const text = await res.text();
        return { status: res.status, headers: res.headers, body: text === "" ? undefined : JSON.parse(text), ms: performance.now() - t0 };
      },
      waitForInstances: (plugin, count) =>
        waitFor(() => {
          const entry = started.registry.get(plugin);
          const live = [...entry?.versions.values() ?? []].flatMap((v) => [...v.instances.values()]).filter((i) => !i.draining);
          return live.length >= count;
        }, { timeoutMs: STARTUP_TIMEOUT_MS, message: `${count} instance(s) of ${plugin}` }),
      async [Symbol.asyncDispose]() {
        await Promise.all(plugins.map((p) => p.stop(5_000)));
        await started.stop();
        await nats.stop();
      },
    };
    for (const m of modules) await stack.waitForInstances(nameOf(m), 1);
    return stack;
  } catch (err) {
    await Promise.all(plugins.map((p) => p.stop(2_000)));
    await router?.stop();
    await nats.stop();
    throw err;
  }
}

function nameOf(module: string): string {
  return module.split(/[\\/]/).at(-2)!;
}
