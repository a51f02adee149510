/**
 * Child processes for tests: spawn, collect output lines, wait for a line, stop with a deadline.
 * Uses only `node:` built-ins, so it runs on Deno, Bun and Node.
 * @module
 */

import { spawn } from "node:child_process";
import { createServer } from "node:net";
import process from "node:process";
import { onProcessExit } from "./_exit_cleanup.ts";

/** Options for {@linkcode spawnProcess}. */
export interface SpawnOptions {
  /** Added to this process's environment; a key set to `undefined` is removed. */
  env?: Readonly<Record<string, string | undefined>>;
  /** Working directory. @default the current one */
  cwd?: string;
  /** A label for error messages. @default argv[0] */
  name?: string;
  /** How many output lines to keep; older ones are dropped. @default 1000 */
  maxLines?: number;
  /**
   * Start the child in a process group (and session) of its own, so signals to this process's
   * group, such as a terminal's Ctrl-C, do not reach it; only `kill()`/`stop()` end it (and the
   * SIGKILL when this process exits first). @default false
   */
  detached?: boolean;
}

/** How a process ended: an exit code, or the signal that killed it. */
export interface ExitStatus {
  code: number | null;
  signal: string | null;
}

/** A running child process; see {@linkcode spawnProcess}. */
export interface ProcessHandle extends AsyncDisposable {
  readonly pid: number;
  readonly name: string;
  /** The last `maxLines` lines of stdout and stderr, interleaved in arrival order. */
  readonly lines: readonly string[];
  /** Resolves when the process exits (output may still be arriving). */
  readonly exited: Promise<ExitStatus>;
  /** Resolves once the process has exited and its output has ended: `lines` is complete. */
  readonly closed: Promise<ExitStatus>;
  /** The exit status once the process has exited. */
  readonly exitStatus: ExitStatus | undefined;
  /**
   * Resolves with the first kept line that matches (a string matches as a substring), looking at
   * lines already received first.
   * @throws {Error} on timeout, or when output ends without a match; the message has the last lines.
   */
  waitForLine(pattern: RegExp | string, timeoutMs?: number): Promise<string>;
  /** Sends `signal`; false when the process is already gone. @default "SIGTERM" */
  kill(signal?: NodeJS.Signals): boolean;
  /** SIGTERM, then SIGKILL once `timeoutMs` has passed; resolves when the process has exited. @default 5000 */
  stop(timeoutMs?: number): Promise<ExitStatus>;
}

/** The last lines of output quoted in error messages. */
export const ERROR_TAIL_LINES = 50;

/**
 * Starts `argv[0]` with arguments `argv.slice(1)`, piping stdout and stderr into `lines`.
 * The child is SIGKILLed if this process exits first.
 * @throws {Error} when the executable cannot be started (not found, not executable).
 */
export function spawnProcess(argv: readonly string[], options: SpawnOptions = {}): ProcessHandle {
  const [cmd, ...args] = argv;
  if (cmd === undefined) throw new TypeError("Cannot spawn a process: argv is empty");
  const name = options.name ?? cmd;
  const maxLines = options.maxLines ?? 1000;
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries({ ...process.env, ...options.env })) if (v !== undefined) env[k] = v;
  const child = spawn(cmd, args, {
    env,
    stdio: ["ignore", "pipe", "pipe"],
    detached: options.detached ?? false,
    ...(options.cwd ? { cwd: options.cwd } : {}),
  });
  child.on("error", () => {}); // spawn failures are reported below; later errors surface through exit
  const pid = child.pid;
  if (pid === undefined) throw new Error(`Cannot start ${name}: "${cmd}" was not found or is not executable`);

  const lines: string[] = [];
  const waiters = new Set<{ match(line: string): boolean; fail(reason: string): void }>();
  let status: ExitStatus | undefined;
  let closed = false;
  const push = (line: string) => {
    lines.push(line);
    if (lines.length > maxLines) lines.splice(0, lines.length - maxLines);
    for (const w of waiters) if (w.match(line)) waiters.delete(w);
  };
  for (const stream of [child.stdout, child.stderr]) {
    let partial = "";
    stream.setEncoding("utf8");
    stream.on("data", (chunk: string) => {
      const parts = (partial + chunk).split(/\r?\n/);
      partial = parts.pop() ?? "";
      for (const line of parts) push(line);
    });
    stream.on("end", () => {
      if (partial) push(partial);
      partial = "";
    });
  }
  const tail = () => lines.slice(-ERROR_TAIL_LINES).join("\n");
  // process.kill, not child.kill: Deno 2.9's ChildProcess.kill() ignores every call after the first
  // (so SIGKILL after SIGTERM would be lost) and then reports the first signal as the exit status.
  const signal = (sig: NodeJS.Signals): boolean => {
    if (status !== undefined) return false;
    try {
      return process.kill(pid, sig);
    } catch {
      return false;
    }
  };
  const unregister = onProcessExit(() => void signal("SIGKILL"));
  const exited = new Promise<ExitStatus>((resolve) => {
    child.on("exit", (code, signal) => {
      unregister();
      status = { code, signal };
      resolve(status);
    });
  });
  let markClosed: () => void = () => {};
  const outputEnded = new Promise<void>((resolve) => markClosed = resolve);
  child.on("close", () => {
    closed = true;
    markClosed();
    for (const w of waiters) w.fail(`${name} closed its output (${describe(status)})`);
    waiters.clear();
  });

  const handle: ProcessHandle = {
    pid,
    name,
    lines,
    exited,
    closed: Promise.all([exited, outputEnded]).then(([status]) => status),
    get exitStatus() {
      return status;
    },
    waitForLine(pattern, timeoutMs = 10_000) {
      const test = (line: string) => matchLine(pattern, line);
      const seen = lines.find(test);
      if (seen !== undefined) return Promise.resolve(seen);
      return new Promise<string>((resolve, reject) => {
        const fail = (reason: string) => {
          clearTimeout(timer);
          const what = `${name} (pid ${pid}): no line matching ${String(pattern)}`;
          reject(new Error(`${what}: ${reason}. Last lines:\n${tail()}`));
        };
        const waiter = {
          match(line: string) {
            if (!test(line)) return false;
            clearTimeout(timer);
            resolve(line);
            return true;
          },
          fail,
        };
        const timer = setTimeout(() => {
          waiters.delete(waiter);
          fail(`timed out after ${timeoutMs} ms`);
        }, timeoutMs);
        if (closed) fail(`output already closed (${describe(status)})`);
        else waiters.add(waiter);
      });
    },
    kill(sig = "SIGTERM") {
      return signal(sig);
    },
    async stop(timeoutMs = 5000) {
      if (status) return status;
      signal("SIGTERM");
      const timer = setTimeout(() => signal("SIGKILL"), timeoutMs);
      const result = await exited;
      clearTimeout(timer);
      return result;
    },
    async [Symbol.asyncDispose]() {
      await handle.stop();
    },
  };
  return handle;
}

/** A TCP port that was free a moment ago on `host` (bind port 0, read it, close). @default "127.0.0.1" */
export function freePort(host = "127.0.0.1"): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, host, () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => (port ? resolve(port) : reject(new Error("Cannot find a free port"))));
    });
  });
}

function matchLine(pattern: RegExp | string, line: string): boolean {
  return typeof pattern === "string" ? line.includes(pattern) : pattern.test(line);
}

function describe(status: ExitStatus | undefined): string {
  if (!status) return "still running";
  return status.signal ? `killed by ${status.signal}` : `exit code ${status.code}`;
}
