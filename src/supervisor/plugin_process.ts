import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";
import { dirname } from "node:path";
import { runtimeCommand } from "../runtime/mod.ts";
import type { RuntimeName } from "../runtime/mod.ts";
import { admitPlugin, pluginNameOf } from "./allow_list.ts";
import type { AllowList } from "./allow_list.ts";
import type { AuditLog } from "./audit_log.ts";
import { hashPluginCode } from "./code_hash.ts";
import { denoSandboxFlags } from "./sandbox.ts";
import type { PluginPermissions } from "./sandbox.ts";

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
  /** Checked before the instance starts: code whose SHA-256 is not listed is refused. */
  allowList?: AllowList;
  /** Gets a line for every start and every refusal. */
  audit?: AuditLog;
  /** Deno only: run in a sandbox with exactly these permissions (plus NATS and OTEL). @default full access */
  permissions?: PluginPermissions;
  /** NATS credential files the instance reads: readable in its sandbox. */
  natsFiles?: readonly string[];
  /** Manifest requirements, passed as a flag (a sandboxed instance can't read its manifest). */
  requires?: Readonly<Record<string, string>>;
}

/** A running plugin instance. */
export interface PluginProcess {
  readonly spec: PluginProcessSpec;
  readonly child: ChildProcess;
  readonly exited: Promise<number | null>;
  /** SIGTERM (drain), then SIGKILL after `timeoutMs`; resolves with the exit code. */
  stop(timeoutMs: number): Promise<number | null>;
}

/**
 * Starts `switchyard plugin <module>` under the spec's runtime, forwarding its lines. With an
 * allow-list, the code's hash is checked first; with `permissions`, a Deno instance runs sandboxed.
 * @throws {PluginRefusedError} when the allow-list refuses the code (the audit log says why).
 */
export function startPluginProcess(spec: PluginProcessSpec): PluginProcess {
  const plugin = pluginNameOf(spec.module);
  const digest = spec.allowList !== undefined
    ? admitPlugin(spec.module, spec.allowList, spec.audit, plugin)
    : spec.audit === undefined ? undefined : hashPluginCode(spec.module).digest;
  const args = ["plugin", spec.module, "--nats", spec.natsUrl, "--log-format", "pretty", "--parent-pid", String(process.pid)];
  if (spec.instanceId !== undefined) args.push("--instance-id", spec.instanceId);
  if (spec.options !== undefined) args.push("--options", JSON.stringify(spec.options));
  if (spec.requires !== undefined) args.push("--requires", JSON.stringify(spec.requires));
  const sandbox = spec.runtime === "deno" && spec.permissions !== undefined
    ? denoSandboxFlags(spec.permissions, { pluginDir: dirname(spec.module), module: spec.module, natsServers: spec.natsUrl.split(","), natsFiles: spec.natsFiles ?? [] })
    : undefined;
  const [cmd, ...rest] = runtimeCommand(spec.runtime, spec.cli, args, sandbox === undefined ? {} : { denoPermissions: sandbox });
  // Its own process group, so a terminal's Ctrl-C reaches only the supervisor, which drains the
  // instances in order; SWITCHYARD_PARENT_PID lets an orphaned instance notice and stop.
  const child = spawn(cmd!, rest, {
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
    env: { ...process.env, ...spec.env, SWITCHYARD_PARENT_PID: String(process.pid) },
  });
  spec.audit?.write({ type: "plugin_started", plugin, module: spec.module, digest: digest!, runtime: spec.runtime, pid: child.pid, sandbox: sandbox ?? "none" });
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
