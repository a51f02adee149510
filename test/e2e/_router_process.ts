/**
 * `switchyard router` as a process of its own, as in production: on a free port of 127.0.0.1, with
 * an optional config file, in the runtime under test; ready once it logs "router ready".
 * @module
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import assert from "node:assert/strict";
import type { Config } from "../../src/config/mod.ts";
import { currentRuntime, runtimeCommand } from "../../src/runtime/mod.ts";
import type { RuntimeName } from "../../src/runtime/mod.ts";
import { spawnProcess, waitFor } from "../../src/testing/mod.ts";
import type { ExitStatus, ProcessHandle } from "../../src/testing/mod.ts";
import { CLI, STARTUP_TIMEOUT_MS } from "./_stack.ts";

/** Options of {@linkcode startRouterProcess}. */
export interface RouterProcessOptions {
  /** Written to a config file of its own (removed when the process exits) and passed as `--config`. */
  config?: Config;
  /** Added to the process's environment; a key set to `undefined` is removed. */
  env?: Readonly<Record<string, string | undefined>>;
  /** @default the runtime under test */
  runtime?: RuntimeName;
  /** More command-line arguments, after `--nats`, `--port 0` and `--host 127.0.0.1`. */
  args?: readonly string[];
  /** Plugins to wait for: start-up ends once the router lists each (`GET /v1/plugins/<name>` is 200). */
  plugins?: readonly string[];
}

/** A running router process: its output, signals and exit as a {@linkcode ProcessHandle}, and where it serves. */
export interface RouterProcess extends ProcessHandle {
  /** Its base URL, from the "router ready" line, e.g. `http://127.0.0.1:41234`. */
  readonly url: string;
  readonly port: number;
  /** The "router ready" log line, parsed (`url`, `runtime`, `nats`). */
  readonly ready: Record<string, unknown>;
  /** Resolves once the router lists `plugin` (`GET /v1/plugins/<plugin>` is 200). */
  waitForPlugin(plugin: string, timeoutMs?: number): Promise<void>;
  /**
   * SIGTERM, then SIGKILL once `timeoutMs` has passed; resolves with the exit status when it is
   * exit code `expectedCode`, and throws with the last lines otherwise.
   */
  shutdown(expectedCode?: number, timeoutMs?: number): Promise<ExitStatus>;
}

/**
 * Starts `switchyard router --nats <natsUrl> --port 0 --host 127.0.0.1` and waits until it is
 * ready (and lists `options.plugins`). On a failed start the process is stopped before this throws.
 */
export async function startRouterProcess(
  natsUrl: string,
  options: RouterProcessOptions = {},
): Promise<RouterProcess> {
  const args = ["router", "--nats", natsUrl, "--port", "0", "--host", "127.0.0.1", ...(options.args ?? [])];
  let dir: string | undefined;
  if (options.config !== undefined) {
    dir = mkdtempSync(join(tmpdir(), "sy-router-"));
    const file = join(dir, "switchyard.config.json");
    writeFileSync(file, JSON.stringify(options.config));
    args.push("--config", file);
  }
  const proc = spawnProcess(runtimeCommand(options.runtime ?? currentRuntime(), CLI, args), {
    name: "router",
    ...(options.env ? { env: options.env } : {}),
  });
  if (dir !== undefined) void proc.exited.finally(() => rmSync(dir, { recursive: true, force: true }));
  try {
    // A bound for a start that fails, not a wait: a loaded machine can take tens of seconds.
    const line = await proc.waitForLine("router ready", STARTUP_TIMEOUT_MS);
    const ready = JSON.parse(line) as Record<string, unknown>;
    const router = withRouter(proc, String(ready.url), ready);
    for (const plugin of options.plugins ?? []) await router.waitForPlugin(plugin);
    return router;
  } catch (err) {
    // Left running, it would keep the test file's process alive after the failure.
    await proc.stop(2_000);
    throw err;
  }
}

function withRouter(proc: ProcessHandle, url: string, ready: Record<string, unknown>): RouterProcess {
  return {
    url,
    port: Number(new URL(url).port),
    ready,
    waitForPlugin: (plugin, timeoutMs = STARTUP_TIMEOUT_MS) =>
      waitFor(async () => (await fetch(`${url}/v1/plugins/${plugin}`)).status === 200, {
        timeoutMs,
        message: `the router to list ${plugin}`,
      }),
    pid: proc.pid,
    name: proc.name,
    lines: proc.lines,
    exited: proc.exited,
    closed: proc.closed,
    get exitStatus() {
      return proc.exitStatus;
    },
    waitForLine: proc.waitForLine,
    kill: proc.kill,
    stop: proc.stop,
    async shutdown(expectedCode = 0, timeoutMs = 5_000) {
      const status = await proc.stop(timeoutMs);
      assert.deepEqual(
        status,
        { code: expectedCode, signal: null },
        `router exit\n${proc.lines.slice(-20).join("\n")}`,
      );
      return status;
    },
    [Symbol.asyncDispose]: () => proc[Symbol.asyncDispose](),
  };
}
