import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { runtimeCommand, runtimeEnv } from "../runtime/mod.ts";
import type { RuntimeName } from "../runtime/mod.ts";

/** What starts one plugin instance. */
export interface PluginProcessSpec {
  /** Label for log lines, e.g. the instance id. */
  label: string;
  runtime: RuntimeName;
  /** The `switchyard` CLI entry (src/cli/main.ts). */
  cli: string;
  module: string;
  natsUrl: string;
  instanceId?: string;
  options?: unknown;
  env?: Record<string, string>;
  /** More arguments of `switchyard plugin <module>`, e.g. `["--weight", "2"]`. */
  args?: readonly string[];
  /** Flags for the runtime, before the script. */
  runtimeArgs?: readonly string[];
  /** Subject prefix. @default "sy" */
  prefix?: string;
  /** The instance's `--drain-timeout`. @default 10000 */
  drainTimeoutMs?: number;
  /** The instance's log format. @default "pretty" */
  logFormat?: "json" | "pretty";
  /** Each line the instance prints, without the newline. */
  onLine: (label: string, line: string) => void;
}

/** How an instance ended. */
export interface PluginExit {
  code: number | null;
  signal: string | null;
}

/** A running plugin instance. */
export interface PluginProcess {
  readonly spec: PluginProcessSpec;
  readonly child: ChildProcess;
  /** Resolves with the exit code (`null` when a signal killed it or it never started). */
  readonly exited: Promise<number | null>;
  /** Resolves with the exit code and signal. */
  readonly exit: Promise<PluginExit>;
  /** SIGTERM (drain), then SIGKILL after `timeoutMs`; resolves with the exit code. */
  stop(timeoutMs: number): Promise<number | null>;
}

/**
 * Starts `switchyard plugin <module>` under the spec's runtime, forwarding its lines. The one
 * place an instance is started: checks before a start and extra runtime flags belong here.
 */
export function startPluginProcess(spec: PluginProcessSpec): PluginProcess {
  const args = ["plugin", spec.module, "--nats", spec.natsUrl, "--log-format", spec.logFormat ?? "pretty"];
  if (spec.instanceId !== undefined) args.push("--instance-id", spec.instanceId);
  if (spec.options !== undefined) args.push("--options", JSON.stringify(spec.options));
  if (spec.prefix !== undefined) args.push("--prefix", spec.prefix);
  if (spec.drainTimeoutMs !== undefined) args.push("--drain-timeout", String(spec.drainTimeoutMs));
  args.push(...(spec.args ?? []));
  const [cmd, ...rest] = runtimeCommand(spec.runtime, spec.cli, args, spec.runtimeArgs === undefined ? {} : { runtimeArgs: spec.runtimeArgs });
  // Its own process group, so a terminal's Ctrl-C reaches only the supervisor, which drains the
  // instances in order; SWITCHYARD_PARENT_PID lets an orphaned instance notice and stop.
  const child = spawn(cmd!, rest, {
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
    env: {
      ...runtimeEnv(spec.runtime, process.env, join(tmpdir(), "switchyard-node-compile-cache")),
      ...process.env,
      ...spec.env,
      SWITCHYARD_PARENT_PID: String(process.pid),
    },
  });
  for (const stream of [child.stdout, child.stderr]) {
    createInterface({ input: stream! }).on("line", (line) => spec.onLine(spec.label, line));
  }
  const exit = new Promise<PluginExit>((resolve) => {
    child.once("exit", (code, signal) => resolve({ code, signal }));
    child.once("error", (err) => {
      spec.onLine(spec.label, `failed to start: ${err.message}`);
      resolve({ code: null, signal: null });
    });
  });
  const exited = exit.then((e) => e.code);
  return {
    spec,
    child,
    exited,
    exit,
    async stop(timeoutMs) {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      signal(child, "SIGTERM");
      const timer = setTimeout(() => signal(child, "SIGKILL"), timeoutMs);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}

/** `process.kill` by pid: Deno's `ChildProcess.kill()` ignores every call after the first. */
function signal(child: ChildProcess, sig: NodeJS.Signals): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(child.pid, sig);
  } catch {
    // already gone
  }
}
