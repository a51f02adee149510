import { credentialFiles, natsCredentialsFromEnv } from "../bus/mod.ts";
import type { ResolvedConfig } from "../config/mod.ts";
import type { Logger } from "../deps.ts";
import { AllowList, AuditLog } from "../supervisor/mod.ts";
import type { PluginProcessSpec } from "../supervisor/mod.ts";

/** The allow-list, audit log and sandbox extras every plugin start of a supervisor shares. */
export interface PluginGate {
  /** Spread into each `PluginProcessSpec`. */
  readonly spec: Pick<PluginProcessSpec, "allowList" | "audit" | "natsFiles">;
  /** Plugins the allow-list refused. */
  readonly refused: Set<string>;
}

/**
 * Builds the allow-list and audit log from `config.allowList` (none: every plugin may start), and
 * re-reads the list on SIGHUP: a bad list is logged and the old one stays.
 * @throws {Error} when the allow-list file cannot be read at start.
 */
export function pluginGate(config: ResolvedConfig, logger: Logger): PluginGate {
  const natsFiles = credentialFiles(natsCredentialsFromEnv(process.env, {
    ...(config.nats.credsFile === undefined ? {} : { credsFile: config.nats.credsFile }),
    ...(config.nats.nkeySeedFile === undefined ? {} : { nkeySeedFile: config.nats.nkeySeedFile }),
    ...(config.nats.tls === undefined ? {} : { tls: { ...config.nats.tls } }),
  }));
  const options = config.allowList;
  if (options === undefined) return { spec: { natsFiles }, refused: new Set() };
  const audit = new AuditLog(options.auditLog, { logger });
  const allowList = new AllowList(options);
  logger.info("plugin allow-list loaded", { plugins: allowList.size, ...(options.file === undefined ? {} : { file: options.file }) });
  process.on("SIGHUP", () => {
    try {
      const plugins = allowList.reload();
      audit.write({ type: "allow_list_reloaded", plugins, source: options.file ?? "config" });
    } catch (err) {
      audit.write({ type: "allow_list_reload_failed", reason: (err as Error).message });
    }
  });
  return { spec: { allowList, audit, natsFiles }, refused: new Set() };
}
