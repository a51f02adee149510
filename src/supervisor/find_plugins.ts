import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseRuntime } from "../runtime/mod.ts";
import type { RuntimeName } from "../runtime/mod.ts";
import { parsePermissions } from "./sandbox.ts";
import type { PluginPermissions } from "./sandbox.ts";

/** A plugin folder: `<dir>/<name>/mod.ts`, with an optional `plugin.json` manifest. */
export interface PluginFolder {
  name: string;
  module: string;
  runtime: RuntimeName | undefined;
  options: unknown;
  /** Plugins this one calls: name → semver range (manifest `requires`). */
  requires: Readonly<Record<string, string>>;
  /** The Deno sandbox (manifest `permissions`; none declared is the empty sandbox). */
  permissions: PluginPermissions;
}

/** What `plugin.json` may say. */
export interface PluginManifest {
  runtime?: string;
  options?: unknown;
  requires?: Record<string, string>;
  /** What the plugin's Deno sandbox allows (see `PluginPermissionsSchema`). */
  permissions?: unknown;
}

/**
 * Reads `<dir>/plugin.json`, or `{}` when there is none.
 * @throws {TypeError} when it is not JSON or `requires` is not an object of strings.
 */
export function readManifest(dir: string): PluginManifest {
  const path = join(dir, "plugin.json");
  if (!existsSync(path)) return {};
  let manifest: PluginManifest;
  try {
    manifest = JSON.parse(readFileSync(path, "utf8")) as PluginManifest;
  } catch (err) {
    throw new TypeError(`${path}: not valid JSON (${(err as Error).message})`);
  }
  const requires = manifest.requires;
  if (requires !== undefined && (typeof requires !== "object" || requires === null || Object.values(requires).some((r) => typeof r !== "string"))) {
    throw new TypeError(`${path}: "requires" must map plugin names to semver ranges, e.g. {"hello": "^1"}`);
  }
  return manifest;
}

/**
 * Every `<dir>/*\/mod.ts`, sorted by folder name. `plugin.json` may set `runtime`, `options`,
 * `requires` and `permissions`.
 * @throws {TypeError} naming a manifest that is not valid.
 */
export function findPlugins(dir: string): PluginFolder[] {
  const root = resolve(dir);
  if (!existsSync(root)) return [];
  return pluginFolderNames(root).map((name) => readPluginFolder(root, name));
}

/** The names of the folders under `dir` that hold a `mod.ts`, sorted. */
export function pluginFolderNames(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isDirectory() && existsSync(join(dir, e.name, "mod.ts")))
    .map((e) => e.name)
    .sort((a, b) => a.localeCompare(b));
}

/**
 * One plugin folder `<dir>/<name>` with its manifest read afresh.
 * @throws {TypeError} naming the manifest when it is not valid (JSON, runtime, requires, permissions).
 */
export function readPluginFolder(dir: string, name: string): PluginFolder {
  const root = resolve(dir);
  const manifest = readManifest(join(root, name));
  let runtime: RuntimeName | undefined;
  try {
    runtime = manifest.runtime === undefined ? undefined : parseRuntime(manifest.runtime);
  } catch (err) {
    throw new TypeError(`${join(root, name, "plugin.json")}: ${(err as Error).message}`);
  }
  return {
    name,
    module: join(root, name, "mod.ts"),
    runtime,
    options: manifest.options,
    requires: manifest.requires ?? {},
    permissions: parsePermissions(manifest.permissions, join(root, name, "plugin.json")),
  };
}
