import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";
import type { NatsCredentials } from "../bus/credentials.ts";
import type { RuntimeName } from "../runtime/mod.ts";
import { pluginNameOf } from "./allow_list.ts";
import type { AllowList } from "./allow_list.ts";
import type { AuditLog } from "./audit_log.ts";
import { prepareLaunch } from "./instance_launch.ts";
import type { PluginProcessSpec } from "./process_spec.ts";

export type { PluginProcessSpec } from "./process_spec.ts";
import type { PluginPermissions } from "./sandbox.ts";


/** How an instance ended. */
export interface PluginExit {
  code: number | null;
  signal: string | null;
  /** It was refused (allow-list, code check, sandbox grants, credentials): it never ran. */
  refused?: boolean;
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
 * place an instance is started: with an allow-list, the code is checked and run from a verified
 * copy; with `permissions`, a Deno instance runs sandboxed; every instance gets a clean
 * environment and only its own NATS credentials (see `prepareLaunch`).
 * @throws {PluginRefusedError} when it may not start (the audit log says why).
 */
export function startPluginProcess(spec: PluginProcessSpec): PluginProcess {
  const plugin = pluginNameOf(spec.module);
  const launch = prepareLaunch(spec, plugin);
  const [cmd, ...rest] = launch.argv;
  // Its own process group, so a terminal's Ctrl-C reaches only the supervisor, which drains the
  // instances in order; SWITCHYARD_PARENT_PID lets an orphaned instance notice and stop.
  let child: ChildProcess;
  try {
    child = spawn(cmd!, rest, { stdio: ["ignore", "pipe", "pipe"], detached: true, env: launch.env });
  } catch (err) {
    launch.secrets?.remove();
    throw err;
  }
  spec.audit?.write({
    type: "plugin_started",
    plugin,
    module: spec.module,
    digest: launch.digest!,
    ...(launch.codeDir === undefined ? {} : { codeDir: launch.codeDir }),
    runtime: spec.runtime,
    pid: child.pid,
    sandbox: launch.sandbox ?? "none",
  });
  if (launch.unpassed.length > 0) {
    const why = spec.allowList === undefined ? "without an allow-list the manifest is not verified; set them in plugins.<name>.env" : "the supervisor's own";
    spec.onLine(spec.label, `supervisor: not passed on although the manifest asks for them: ${launch.unpassed.join(", ")} (${why})`);
  }
  for (const stream of [child.stdout, child.stderr]) {
    createInterface({ input: stream! }).on("line", (line) => spec.onLine(spec.label, line));
  }
  const exit = new Promise<PluginExit>((resolve) => {
    child.once("exit", (code, signal) => resolve({ code, signal }));
    child.once("error", (err) => {
      spec.onLine(spec.label, `failed to start: ${err.message}`);
      resolve({ code: null, signal: null });
    });
  }).finally(() => launch.secrets?.remove());
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

/**
 * An instance that was refused (allow-list, code check, sandbox grants, credentials), as a process
 * that exited at once (code 78, like a bad config): a reload to refused code rolls back as a failed
 * start, and the supervisor does not restart it (it would be refused again), with the reason in
 * the instance's output.
 */
export function refusedProcess(spec: PluginProcessSpec, reason: string): PluginProcess {
  spec.onLine(spec.label, `refused: ${reason}`);
  const exit = Promise.resolve<PluginExit>({ code: REFUSED_EXIT_CODE, signal: null, refused: true });
  const child = { pid: undefined, exitCode: REFUSED_EXIT_CODE, signalCode: null } as unknown as ChildProcess;
  return { spec, child, exit, exited: exit.then((e) => e.code), stop: () => Promise.resolve(REFUSED_EXIT_CODE) };
}

/** The exit code of a refused instance. */
export const REFUSED_EXIT_CODE = 78;
