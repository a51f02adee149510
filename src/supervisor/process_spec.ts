import type { NatsCredentials } from "../bus/mod.ts";
import type { RuntimeName } from "../runtime/mod.ts";
import type { AllowList } from "./allow_list.ts";
import type { AuditLog } from "./audit_log.ts";
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
  /**
   * Checked before the instance starts: code whose SHA-256 is not listed, or that the hash cannot
   * fully cover, is refused; listed code runs from a verified read-only copy.
   */
  allowList?: AllowList;
  /** Where verified copies go. @default `<tmpdir>/switchyard-code-<uid>` */
  codeCache?: string;
  /** Gets a line for every start and every refusal. */
  audit?: AuditLog;
  /**
   * The manifest's `permissions`: on Deno, a sandbox with exactly these (plus NATS and OTEL); on
   * every runtime, its `env` names are passed on from the supervisor's environment (never `NATS_*`).
   * @default full access, nothing passed on
   */
  permissions?: PluginPermissions;
  /** The plugin's own NATS credentials (`plugins.<name>.nats`): handed over in a folder only it uses. @default none */
  natsCredentials?: NatsCredentials;
  /** The CA of the NATS servers (the supervisor's), given to an instance without a CA of its own. */
  serverCaFile?: string;
  /** Where the few inherited variables come from (PATH, HOME, …). @default process.env */
  inheritEnv?: Readonly<Record<string, string | undefined>>;
  /** Manifest requirements, passed as a flag (a sandboxed instance can't read its manifest). */
  requires?: Readonly<Record<string, string>>;
}
