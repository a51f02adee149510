import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";
import { runtimeCommand } from "../runtime/mod.ts";
import type { RuntimeName } from "../runtime/mod.ts";

/** What starts one plugin instance. */
export interface PluginProcessSpec {
  /** Label for log lines, e.g. `hello#1`. */
  label: string;
  runtime: RuntimeName;
  /** The `switchyard` CLI entry (src/cli/main.ts). */
  cli: string;
  module: string;
  natsUrl: string;
  instanceId?: string;
  options?: unknown;
  env?: Record<string, string>;
  /** Each line the instance prints, without the newline. */
  onLine: (label: string, line: string) => void;
}

/** A running plugin instance. */
export interface PluginProcess {
  readonly spec: PluginProcessSpec;
  readonly child: ChildProcess;
  readonly exited: Promise<number | null>;
  /** SIGTERM (drain), then SIGKILL after `timeoutMs`; resolves with the exit code. */
  stop(timeoutMs: number): Promise<number | null>;
}

/** Starts `switchyard plugin <module>` under the spec's runtime, forwarding its lines. */
export function startPluginProcess(spec: PluginProcessSpec): PluginProcess {
  const args = ["plugin", spec.module, "--nats", spec.natsUrl, "--log-format", "pretty"];
  if (spec.instanceId !== undefined) args.push("--instance-id", spec.instanceId);
  if (spec.options !== undefined) args.push("--options", JSON.stringify(spec.options));
  const [cmd, ...rest] = runtimeCommand(spec.runtime, spec.cli, args);
  // Its own process group, so a terminal's Ctrl-C reaches only the supervisor, which drains the
  // instances in order; SWITCHYARD_PARENT_PID lets an orphaned instance notice and stop.
  const child = spawn(cmd!, rest, {
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
    env: { ...process.env, ...spec.env, SWITCHYARD_PARENT_PID: String(process.pid) },
  });
  for (const stream of [child.stdout, child.stderr]) {
    createInterface({ input: stream! }).on("line", (line) => spec.onLine(spec.label, line));
  }
  const exited = new Promise<number | null>((resolve) => {
    child.once("exit", (code) => resolve(code));
    child.once("error", (err) => {
      spec.onLine(spec.label, `failed to start: ${err.message}`);
      resolve(null);
    });
  });
  return {
    spec,
    child,
    exited,
    async stop(timeoutMs) {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}
