import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { tmpdir } from "node:os";
import { createInterface } from "node:readline";
import { dirname, join } from "node:path";
import { runtimeCommand, runtimeEnv } from "../runtime/mod.ts";
import type { RuntimeName } from "../runtime/mod.ts";
import { admitPlugin, pluginNameOf } from "./allow_list.ts";
import type { AllowList } from "./allow_list.ts";
import type { AuditLog } from "./audit_log.ts";
import { hashPluginCode } from "./code_hash.ts";
import { denoSandboxFlags } from "./sandbox.ts";
import type { PluginPermissions } from "./sandbox.ts";

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

/** How an instance ended. */
export interface PluginExit {
  code: number | null;
  signal: string | null;
  /** The allow-list refused the code: the instance never ran. */
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
/**
 * Starts `switchyard plugin <module>` under the spec's runtime, forwarding its lines. The one
 * place an instance is started: with an allow-list, the code's hash is checked first; with
 * `permissions`, a Deno instance runs sandboxed.
 * @throws {PluginRefusedError} when the allow-list refuses the code (the audit log says why).
 */
export function startPluginProcess(spec: PluginProcessSpec): PluginProcess {
  const plugin = pluginNameOf(spec.module);
  const sandboxed = spec.runtime === "deno" && spec.permissions !== undefined && spec.permissions !== "all";
  const code = spec.audit !== undefined || sandboxed ? hashPluginCode(spec.module) : undefined;
  const digest = spec.allowList !== undefined ? admitPlugin(spec.module, spec.allowList, spec.audit, plugin) : code?.digest;
  const args = ["plugin", spec.module, "--nats", spec.natsUrl, "--log-format", spec.logFormat ?? "pretty", "--parent-pid", String(process.pid)];
  if (spec.instanceId !== undefined) args.push("--instance-id", spec.instanceId);
  if (spec.options !== undefined) args.push("--options", JSON.stringify(spec.options));
  if (spec.requires !== undefined) args.push("--requires", JSON.stringify(spec.requires));
  if (spec.prefix !== undefined) args.push("--prefix", spec.prefix);
  if (spec.drainTimeoutMs !== undefined) args.push("--drain-timeout", String(spec.drainTimeoutMs));
  args.push(...(spec.args ?? []));
  const sandbox = spec.runtime === "deno" && spec.permissions !== undefined
    ? denoSandboxFlags(spec.permissions, {
      pluginDir: dirname(spec.module),
      module: spec.module,
      moduleFiles: code?.files.filter((f) => f.endsWith(".ts") || f.endsWith(".js") || f.endsWith(".mjs")) ?? [],
      natsServers: spec.natsUrl.split(","),
      natsFiles: spec.natsFiles ?? [],
    })
    : undefined;
  const [cmd, ...rest] = runtimeCommand(spec.runtime, spec.cli, args, {
    ...(sandbox === undefined ? {} : { denoPermissions: sandbox }),
    ...(spec.runtimeArgs === undefined ? {} : { runtimeArgs: spec.runtimeArgs }),
  });
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
  spec.audit?.write({ type: "plugin_started", plugin, module: spec.module, digest: digest!, runtime: spec.runtime, pid: child.pid, sandbox: sandbox ?? "none" });
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

/**
 * An instance the allow-list refused, as a process that exited at once (code 78, like a bad
 * config): a reload to refused code rolls back as a failed start, and the supervisor does not
 * restart it (the same code would be refused again), with the reason in the instance's output.
 */
export function refusedProcess(spec: PluginProcessSpec, reason: string): PluginProcess {
  spec.onLine(spec.label, `refused: ${reason}`);
  const exit = Promise.resolve<PluginExit>({ code: REFUSED_EXIT_CODE, signal: null, refused: true });
  const child = { pid: undefined, exitCode: REFUSED_EXIT_CODE, signalCode: null } as unknown as ChildProcess;
  return { spec, child, exit, exited: exit.then((e) => e.code), stop: () => Promise.resolve(REFUSED_EXIT_CODE) };
}

/** The exit code of a refused instance. */
export const REFUSED_EXIT_CODE = 78;
