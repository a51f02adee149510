/**
 * Starts a real `nats-server` on loopback for tests, on a port the server picks itself.
 * @module
 */

import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { onProcessExit } from "./_exit_cleanup.ts";
import { buildConfig, findNatsServerBin, type PortsFile, probeTcp, readPortsFile } from "./_nats_files.ts";
import { ERROR_TAIL_LINES, type ExitStatus, type ProcessHandle, spawnProcess } from "./process.ts";
import { waitFor } from "./wait.ts";

/** Options for {@linkcode startNatsServer}. */
export interface NatsServerOptions {
  /** The client port. @default a free one, picked by the server */
  port?: number;
  /** Config text appended to the generated file (accounts, jetstream, limits…). */
  config?: string;
  /** Also listen for websocket clients (no TLS) on a free loopback port. @default false */
  websocket?: boolean;
  /** Enable the HTTP monitoring endpoint (`/varz`, `/routez`…) on a free loopback port. @default false */
  monitoring?: boolean;
  /** Join a cluster: listen for routes on a free loopback port and connect to `routes`. */
  cluster?: { name: string; routes?: readonly string[] };
  /** The executable. @default $NATS_SERVER_BIN, else `nats-server` from PATH, /usr/sbin or /usr/local/sbin */
  bin?: string;
  /** How long start-up may take. @default 10000 */
  startTimeoutMs?: number;
  /** How long `stop()` waits after SIGTERM before SIGKILL. @default 5000 */
  stopTimeoutMs?: number;
  /**
   * Run the server in a process group of its own, so a terminal's Ctrl-C, which signals the whole
   * foreground group, does not stop it before its clients have drained; `stop()` ends it.
   * @default false
   */
  detached?: boolean;
}

/** A running nats-server; see {@linkcode startNatsServer}. */
export interface NatsServer extends AsyncDisposable {
  /** The client URL, `nats://127.0.0.1:<port>`. */
  readonly url: string;
  readonly port: number;
  /** The websocket URL, when `websocket` was set. */
  readonly wsUrl?: string;
  /** The monitoring base URL (`http://127.0.0.1:<port>`), when `monitoring` was set. */
  readonly monitorUrl?: string;
  /** The route URL (`nats-route://127.0.0.1:<port>`), when `cluster` was set. */
  readonly routeUrl?: string;
  readonly pid: number;
  /** The temporary directory holding the config and ports file; removed on stop. */
  readonly dir: string;
  /** Resolves when the server process has exited. */
  readonly exited: Promise<ExitStatus>;
  /** The last 50 lines the server logged. */
  logs(): string[];
  /**
   * SIGTERM, then SIGKILL after `stopTimeoutMs`; resolves once the process has exited and its
   * output has ended (`logs()` has its last lines). Idempotent.
   */
  stop(): Promise<void>;
  /** SIGKILL, as in a crash; resolves once the process has exited and its output has ended. */
  kill9(): Promise<void>;
}

/** The default deadline for a nats-server to start. */
export const DEFAULT_NATS_START_TIMEOUT_MS = 10_000;

/**
 * Writes a config (`port: -1`, `host: 127.0.0.1`, `ports_file_dir`) into a fresh temp dir, starts
 * nats-server, waits for its ports file and for the client port to accept TCP.
 * @throws {Error} when nats-server is missing (with how to install it), or does not start in time
 *   (with its last log lines); the process is killed first.
 * @example
 * ```ts
 * await using server = await startNatsServer();
 * const nc = await connect({ servers: server.url });
 * ```
 */
export async function startNatsServer(options: NatsServerOptions = {}): Promise<NatsServer> {
  const bin = findNatsServerBin(options.bin);
  const dir = mkdtempSync(join(tmpdir(), "switchyard-nats-"));
  const configFile = join(dir, "nats.conf");
  writeFileSync(
    configFile,
    buildConfig({
      dir,
      port: options.port,
      websocket: options.websocket ?? false,
      monitoring: options.monitoring ?? false,
      cluster: options.cluster && { name: options.cluster.name, routes: options.cluster.routes ?? [] },
      extra: options.config,
    }),
  );
  let proc: ProcessHandle;
  try {
    proc = spawnProcess([bin, "-c", configFile], { name: "nats-server", maxLines: ERROR_TAIL_LINES, detached: options.detached ?? false });
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  const timeoutMs = options.startTimeoutMs ?? DEFAULT_NATS_START_TIMEOUT_MS;
  let ports: PortsFile | undefined;
  try {
    await waitFor(() => {
      if (proc.exitStatus) return true; // it will never become ready: fail now, not at the deadline
      ports = readPortsFile(dir, proc.pid);
      return ports !== undefined && (!options.cluster || (ports.cluster?.length ?? 0) > 0);
    }, { timeoutMs, intervalMs: 5, message: "its ports file" });
    const status = proc.exitStatus;
    if (status) {
      throw new Error(status.signal ? `killed by ${status.signal}` : `exited with code ${status.code}`);
    }
    const port = Number(new URL(ports!.nats[0]!).port);
    await waitFor(() => probeTcp(port), { timeoutMs, message: `TCP port ${port}` });
    return makeServer(proc, dir, port, ports!, options.stopTimeoutMs ?? 5000);
  } catch (err) {
    await proc.stop(0);
    rmSync(dir, { recursive: true, force: true });
    const reason = err instanceof Error ? err.message : String(err);
    throw new Error(
      `nats-server (${bin}) did not start: ${reason}. Last log lines:\n${proc.lines.join("\n")}`,
      {
        cause: err,
      },
    );
  }
}

function makeServer(
  proc: ProcessHandle,
  dir: string,
  port: number,
  ports: PortsFile,
  stopMs: number,
): NatsServer {
  const first = (list: string[] | undefined) => list?.find((u) => u.includes("127.0.0.1")) ?? list?.[0];
  const wsUrl = first(ports.websocket);
  const monitorUrl = first(ports.monitoring);
  const cluster = first(ports.cluster);
  // A runner that force-exits SIGKILLs the server (see spawnProcess); remove its temp dir too.
  const unregister = onProcessExit(() => rmSync(dir, { recursive: true, force: true }));
  const cleanup = () => {
    unregister();
    rmSync(dir, { recursive: true, force: true });
  };
  const server: NatsServer = {
    url: `nats://127.0.0.1:${port}`,
    port,
    ...(wsUrl ? { wsUrl } : {}),
    ...(monitorUrl ? { monitorUrl } : {}),
    ...(cluster ? { routeUrl: cluster.replace(/^nats:/, "nats-route:") } : {}),
    pid: proc.pid,
    dir,
    exited: proc.exited,
    logs: () => [...proc.lines],
    async stop() {
      await proc.stop(stopMs);
      // The exit can be reported before the last lines are read (Bun): wait for the output's end.
      await proc.closed;
      cleanup();
    },
    async kill9() {
      proc.kill("SIGKILL");
      await proc.closed;
      cleanup();
    },
    [Symbol.asyncDispose]: () => server.stop(),
  };
  return server;
}
