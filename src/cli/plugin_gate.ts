import type { ResolvedConfig } from "../config/mod.ts";
import type { Logger } from "../deps.ts";
import { AllowList, AuditLog } from "../supervisor/mod.ts";
import type { PluginProcessSpec, PluginSpec } from "../supervisor/mod.ts";
import { natsCredentials } from "./router_security.ts";

/** The allow-list, audit log and NATS extras every plugin start of a supervisor shares. */
export interface PluginGate {
  /** Spread into each `PluginProcessSpec`. */
  readonly spec: Pick<PluginProcessSpec, "allowList" | "audit" | "codeCache" | "serverCaFile">;
  /** Plugins the allow-list refused. */
  readonly refused: Set<string>;
}

/**
 * Builds the allow-list and audit log from `config.allowList` (none: every plugin may start), and
 * re-reads the list on SIGHUP: a bad list is logged and the old one stays. Instances never get the
 * supervisor's NATS credentials; only the servers' CA, which they need to verify the servers.
 * @throws {Error} when the allow-list file cannot be read at start.
 */
export function pluginGate(config: ResolvedConfig, logger: Logger): PluginGate {
  const caFile = natsCredentials(config, process.env).tls?.caFile;
  const shared = caFile === undefined ? {} : { serverCaFile: caFile };
  const options = config.allowList;
  if (options === undefined) return { spec: shared, refused: new Set() };
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
  return { spec: { ...shared, allowList, audit, ...(options.codeCache === undefined ? {} : { codeCache: options.codeCache }) }, refused: new Set() };
}

/**
 * Warns about each plugin that has no NATS credentials of its own while the supervisor has some:
 * its instances connect with none (they never get the supervisor's), and a server that requires
 * them refuses them.
 */
export function warnAnonymousPlugins(specs: readonly PluginSpec[], config: ResolvedConfig, logger: Logger): void {
  const own = natsCredentials(config, process.env);
  if (own.user === undefined && own.token === undefined && own.nkeySeedFile === undefined && own.credsFile === undefined) return;
  for (const spec of specs) {
    if (spec.nats === undefined) {
      logger.warn("plugin has no NATS credentials of its own: its instances connect without any", { plugin: spec.name, set: `plugins.${spec.name}.nats` });
    }
  }
}
