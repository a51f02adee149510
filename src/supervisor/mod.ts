/**
 * Starting and stopping plugin processes.
 * @module
 */
export { startPluginProcess } from "./plugin_process.ts";
export { findPlugins, readManifest } from "./find_plugins.ts";
export { orderByRequirements } from "./plugin_order.ts";
export type { PluginProcess, PluginProcessSpec } from "./plugin_process.ts";
export type { PluginFolder, PluginManifest } from "./find_plugins.ts";
export { admitPlugin, AllowList, PluginRefusedError, pluginNameOf } from "./allow_list.ts";
export { AllowListSchema, CODE_HASH } from "./allow_list_schema.ts";
export type { AllowListOptions, ResolvedAllowListOptions } from "./allow_list_schema.ts";
export { AuditLog } from "./audit_log.ts";
export type { AuditEvent } from "./audit_log.ts";
export { hashPluginCode } from "./code_hash.ts";
export type { CodeHash } from "./code_hash.ts";
export { denoSandboxFlags, hostPort, parsePermissions, PluginPermissionsSchema, SANDBOX_ENV } from "./sandbox.ts";
export type { PluginPermissions, SandboxBase } from "./sandbox.ts";
