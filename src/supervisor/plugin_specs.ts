import { existsSync } from "node:fs";
import { dirname, isAbsolute, join, resolve } from "node:path";
import type { NatsCredentials } from "../bus/mod.ts";
import type { SupervisedPlugin } from "./options.ts";
import type { RuntimeName } from "../runtime/mod.ts";
import { readManifest } from "./find_plugins.ts";
import type { PluginFolder } from "./find_plugins.ts";
import { DEFAULT_REPLICAS } from "./options.ts";
import { parsePermissions } from "./sandbox.ts";
import type { PluginPermissions } from "./sandbox.ts";

/** Everything the supervisor needs to run one plugin's instances. */
export interface PluginSpec {
  /** The name the config (or the folder) gives it. */
  name: string;
  /** Absolute path of the module. */
  module: string;
  runtime: RuntimeName;
  replicas: number;
  env: Record<string, string>;
  args: string[];
  runtimeArgs: string[];
  /** The plugin's options; `undefined` for none. */
  options: unknown;
  /** Plugins it calls (manifest `requires`): it starts after those among the supervised ones. */
  requires: Readonly<Record<string, string>>;
  /** Reload the plugin when a file under this directory changes (dev). */
  watchDir: string | undefined;
  /** Deno sandbox permissions (manifest `permissions`); `undefined`: full access. */
  permissions?: PluginPermissions | undefined;
  /** Its own NATS credentials (`plugins.<name>.nats`, files absolute); `undefined`: none. */
  nats?: NatsCredentials | undefined;
}

/** The supervisor's slice of a config: each plugin's `module`, `runtime`, `replicas`, ... */
export interface SupervisedPlugins {
  readonly plugins: Readonly<Record<string, SupervisedPlugin>>;
}

/** What differs between two specs of one plugin, and so what a change needs. */
export interface SpecChange {
  /** The instances must be replaced (blue-green): module, runtime, env, args, runtime flags, NATS credentials or manifest permissions changed. */
  replace: boolean;
  /** The options changed: pushed to the running instances. */
  options: boolean;
  /** The replica count changed: scale. */
  replicas: boolean;
}

/**
 * The supervised plugins of a config: every `plugins.<name>` with a `module` (relative to the
 * config file's directory). A `plugin.json` beside the module adds `requires` and the Deno
 * sandbox's `permissions`.
 * @throws {TypeError} naming a module that does not exist.
 */
export function specsFromConfig(config: SupervisedPlugins, configPath: string, defaultRuntime: RuntimeName): PluginSpec[] {
  const base = dirname(resolve(configPath));
  const specs: PluginSpec[] = [];
  for (const [name, p] of Object.entries(config.plugins)) {
    if (p.module === undefined) continue;
    const module = isAbsolute(p.module) ? p.module : resolve(base, p.module);
    if (!existsSync(module)) throw new TypeError(`plugins.${name}.module: ${module} does not exist`);
    const manifest = readManifest(dirname(module));
    specs.push({
      name,
      module,
      runtime: p.runtime ?? defaultRuntime,
      replicas: p.replicas ?? DEFAULT_REPLICAS,
      env: { ...p.env },
      args: [...(p.args ?? [])],
      runtimeArgs: [...(p.runtimeArgs ?? [])],
      options: p.options,
      requires: manifest.requires ?? {},
      watchDir: undefined,
      permissions: parsePermissions(manifest.permissions, join(dirname(module), "plugin.json")),
      nats: pluginNats(name, p.nats, base),
    });
  }
  return specs;
}

/**
 * `switchyard dev`'s plugins: every folder under the plugins directory (watched), with the
 * config's `plugins.<name>` on top (replicas, env, args, and options, which replace the
 * manifest's), plus the config's plugins with a `module` of their own.
 */
export function devSpecs(folders: readonly PluginFolder[], config: SupervisedPlugins, configPath: string | undefined, defaultRuntime: RuntimeName): PluginSpec[] {
  const specs: PluginSpec[] = folders.map((f) => folderSpec(f, config, configPath, defaultRuntime));
  if (configPath !== undefined) {
    const inFolders = new Set(folders.map((f) => f.name));
    for (const spec of specsFromConfig(config, configPath, defaultRuntime)) {
      if (!inFolders.has(spec.name)) specs.push({ ...spec, watchDir: dirname(spec.module) });
    }
  }
  return specs;
}

/**
 * The spec of one plugin folder, with the config's `plugins.<name>` on top (its `options` replace
 * the manifest's).
 * @throws {TypeError} naming a NATS credential file of the config that does not exist.
 */
export function folderSpec(f: PluginFolder, config: SupervisedPlugins, configPath: string | undefined, defaultRuntime: RuntimeName): PluginSpec {
  const p = config.plugins[f.name];
  return {
    name: f.name,
    module: f.module,
    runtime: p?.runtime ?? f.runtime ?? defaultRuntime,
    replicas: p?.replicas ?? DEFAULT_REPLICAS,
    env: { ...p?.env },
    args: [...(p?.args ?? [])],
    runtimeArgs: [...(p?.runtimeArgs ?? [])],
    options: p?.options ?? f.options,
    requires: f.requires,
    watchDir: dirname(f.module),
    permissions: f.permissions,
    nats: pluginNats(f.name, p?.nats, configPath === undefined ? process.cwd() : dirname(resolve(configPath))),
  };
}

/** What changed from `before` to `after` (the same plugin). */
export function specChange(before: PluginSpec, after: PluginSpec): SpecChange {
  const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
  return {
    replace: before.module !== after.module || before.runtime !== after.runtime || !same(before.env, after.env) ||
      !same(before.args, after.args) || !same(before.runtimeArgs, after.runtimeArgs) || !same(before.nats, after.nats) ||
      !same(before.permissions, after.permissions) || !same(before.requires, after.requires),
    options: !same(before.options, after.options),
    replicas: before.replicas !== after.replicas,
  };
}

/**
 * `plugins.<name>.nats` with its files made absolute (relative to `base`, the config file's folder).
 * @throws {TypeError} naming a credential file that does not exist.
 */
function pluginNats(name: string, nats: SupervisedPlugin["nats"], base: string): NatsCredentials | undefined {
  if (nats === undefined) return undefined;
  const file = (key: string, path: string | undefined) => {
    if (path === undefined) return undefined;
    const absolute = isAbsolute(path) ? path : resolve(base, path);
    if (!existsSync(absolute)) throw new TypeError(`plugins.${name}.nats.${key}: ${absolute} does not exist`);
    return absolute;
  };
  const out: NatsCredentials = {};
  if (nats.user !== undefined) out.user = nats.user;
  if (nats.pass !== undefined) out.pass = nats.pass;
  if (nats.token !== undefined) out.token = nats.token;
  if (nats.inboxPrefix !== undefined) out.inboxPrefix = nats.inboxPrefix;
  const nkeySeedFile = file("nkeySeedFile", nats.nkeySeedFile);
  if (nkeySeedFile !== undefined) out.nkeySeedFile = nkeySeedFile;
  const credsFile = file("credsFile", nats.credsFile);
  if (credsFile !== undefined) out.credsFile = credsFile;
  if (nats.tls !== undefined) {
    out.tls = { caFile: file("tls.caFile", nats.tls.caFile), certFile: file("tls.certFile", nats.tls.certFile), keyFile: file("tls.keyFile", nats.tls.keyFile) };
  }
  return out;
}
