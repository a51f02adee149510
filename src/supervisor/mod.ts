/**
 * The supervisor: starts plugin processes, restarts them with backoff, reports crash loops,
 * replaces them blue-green on reload, drains them on stop; and the control channel that
 * `switchyard ps` and `switchyard reload` use. See docs/lifecycle.md.
 *
 * @example
 * ```ts
 * import { Supervisor, specsFromConfig } from "./mod.ts";
 * const supervisor = new Supervisor({ nc, natsUrl, prefix: "sy", cli, settings: config.supervisor, output: (id, line) => print(`[${id}] ${line}`) });
 * await supervisor.start(specsFromConfig(config, "switchyard.config.json", "node"));
 * ```
 * @module
 */
export { startPluginProcess } from "./plugin_process.ts";
export { findPlugins, pluginFolderNames, readManifest, readPluginFolder } from "./find_plugins.ts";
export { followPluginFolders } from "./plugin_folders.ts";
export type { FolderEvent, FollowOptions } from "./plugin_folders.ts";
export { ignoredOptions } from "./options_outcome.ts";
export type { OptionsOutcome } from "./options_outcome.ts";
export { orderByRequirements } from "./plugin_order.ts";
export { Supervisor } from "./supervisor.ts";
export { PluginGroup } from "./plugin_group.ts";
export { Instance, newInstanceId } from "./instance.ts";
export { RestartPolicy } from "./restart_policy.ts";
export { devSpecs, folderSpec, specChange, specsFromConfig } from "./plugin_specs.ts";
export { SupervisedPluginFields, SupervisorSchema } from "./options.ts";
export type { PluginExit, PluginProcess, PluginProcessSpec } from "./plugin_process.ts";
export type { PluginFolder, PluginManifest } from "./find_plugins.ts";
export type { PluginUpdate, SupervisorOptions, SupervisorSnapshot } from "./supervisor.ts";
export type { GroupContext, InstanceView, ReadyResult, ReloadReport } from "./plugin_group.ts";
export type { InstanceState } from "./instance.ts";
export type { CrashDecision, RestartSettings } from "./restart_policy.ts";
export type { PluginSpec, SpecChange } from "./plugin_specs.ts";
export type { ResolvedSupervisorOptions } from "./options.ts";
export { requestPs, requestReload, serveSupervisorControl } from "./control.ts";
export { formatInstanceLine } from "./log_lines.ts";
export type { ReloadReply } from "./control.ts";
export { admitPlugin, AllowList, PluginRefusedError, pluginNameOf } from "./allow_list.ts";
export type { CodeGate } from "./allow_list.ts";
export { AllowListSchema, CODE_HASH } from "./allow_list_schema.ts";
export type { AllowListOptions, ResolvedAllowListOptions } from "./allow_list_schema.ts";
export { AuditLog } from "./audit_log.ts";
export type { AuditEvent } from "./audit_log.ts";
export { hashPluginCode, readPluginCode } from "./code_hash.ts";
export type { CodeHash, PluginCode, PluginCodeFile } from "./code_hash.ts";
export { scanImports } from "./module_imports.ts";
export type { ComputedLoad, ModuleImports, StaticImport } from "./module_imports.ts";
export { defaultCodeCache, verifiedCopy } from "./code_copy.ts";
export type { VerifiedCode } from "./code_copy.ts";
export { instanceEnv, INHERITED_ENV, WITHHELD_ENV } from "./instance_env.ts";
export type { InstanceEnvOptions } from "./instance_env.ts";
export { CredentialsFileSchema, readCredentialsFile, writeInstanceCredentials } from "./instance_credentials.ts";
export type { InstanceSecrets } from "./instance_credentials.ts";
export { grantProblems } from "./grant_paths.ts";
export { denoSandboxFlags, hostPort, otlpTraceHost, parsePermissions, PluginPermissionsSchema, SANDBOX_ENV, SANDBOX_IGNORED_ENV } from "./sandbox.ts";
export type { PluginPermissions, SandboxBase } from "./sandbox.ts";
