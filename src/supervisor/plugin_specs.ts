import { existsSync } from "node:fs";
import { dirname, isAbsolute, join, resolve } from "node:path";
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
}

/** The supervisor's slice of a config: each plugin's `module`, `runtime`, `replicas`, ... */
export interface SupervisedPlugins {
  readonly plugins: Readonly<Record<string, SupervisedPlugin>>;
}

/** What differs between two specs of one plugin, and so what a change needs. */
export interface SpecChange {
  /** The instances must be replaced (blue-green): module, runtime, env, args or runtime flags changed. */
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
  const specs: PluginSpec[] = folders.map((f) => {
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
    };
  });
  if (configPath !== undefined) {
    const inFolders = new Set(folders.map((f) => f.name));
    for (const spec of specsFromConfig(config, configPath, defaultRuntime)) {
      if (!inFolders.has(spec.name)) specs.push({ ...spec, watchDir: dirname(spec.module) });
    }
  }
  return specs;
}

/** What changed from `before` to `after` (the same plugin). */
export function specChange(before: PluginSpec, after: PluginSpec): SpecChange {
  const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
  return {
    replace: before.module !== after.module || before.runtime !== after.runtime || !same(before.env, after.env) ||
      !same(before.args, after.args) || !same(before.runtimeArgs, after.runtimeArgs),
    options: !same(before.options, after.options),
    replicas: before.replicas !== after.replicas,
  };
}
