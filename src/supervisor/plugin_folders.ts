import { resolve } from "node:path";
import { isNoise, watchPath } from "../runtime/mod.ts";
import type { PathWatch } from "../runtime/mod.ts";
import { pluginFolderNames, readPluginFolder } from "./find_plugins.ts";
import type { PluginFolder } from "./find_plugins.ts";
import type { ReloadReport } from "./plugin_group.ts";
import type { PluginSpec } from "./plugin_specs.ts";
import type { PluginUpdate, Supervisor } from "./supervisor.ts";

/** What {@linkcode followPluginFolders} did about one change in the plugins folder. */
export type FolderEvent =
  /** Code changed: replaced blue-green (with the manifest as it is now). */
  | { type: "reloaded"; plugin: string; report: ReloadReport }
  /** Only `plugin.json` changed: applied like a config change (options pushed, or a replacement). */
  | { type: "manifest"; plugin: string; update: PluginUpdate }
  /** `plugin.json` (or the config for it) is not valid: nothing changed, the instances run on. */
  | { type: "refused"; plugin: string; error: string }
  /** A new plugin folder: started. */
  | { type: "added"; plugin: string; update: PluginUpdate }
  /** The folder (or its `mod.ts`) is gone: drained. */
  | { type: "removed"; plugin: string };

/** Options of {@linkcode followPluginFolders}. */
export interface FollowOptions {
  /** The plugins folder (`<dir>/<name>/mod.ts`). */
  dir: string;
  supervisor: Supervisor;
  /**
   * The spec of a folder, with the config in force on top.
   * @throws {TypeError} when the config's part for it is not valid (a missing credential file).
   */
  specOf: (folder: PluginFolder) => PluginSpec;
  onEvent: (event: FolderEvent) => void;
  /**
   * Why a folder's code (its manifest included) may not run, before a manifest change is pushed to
   * running instances: with an allow-list, a new manifest is a new code hash. (Code changes and new
   * folders are checked when their instances start.) @default everything may run
   */
  refusal?: (folder: PluginFolder) => string | undefined;
  /** @default 100 */
  debounceMs?: number;
}

/**
 * Follows a plugins folder while `switchyard dev` runs: a code change under `<name>/` replaces
 * that plugin blue-green; a change of `<name>/plugin.json` alone is applied like a config change
 * (new options are pushed to the running instances, which keep their state; new permissions,
 * requirements or runtime replace them); an invalid manifest is refused and the instances run on
 * as they are; a new folder with a `mod.ts` is started; a removed one is drained. Changes to one
 * plugin are handled one after another.
 */
export function followPluginFolders(options: FollowOptions): PathWatch {
  const dir = resolve(options.dir);
  const { supervisor, onEvent } = options;
  const ours = new Set(pluginFolderNames(dir).filter((n) => supervisor.get(n) !== undefined));
  const queues = new Map<string, Promise<void>>();
  const serially = (name: string, work: () => Promise<void>) => {
    const run = (queues.get(name) ?? Promise.resolve()).then(work).catch((err) =>
      onEvent({ type: "refused", plugin: name, error: (err as Error).message })
    );
    queues.set(name, run);
  };
  const handle = async (name: string, files: readonly string[], firstAt: number) => {
    const present = pluginFolderNames(dir).includes(name);
    if (!present) {
      if (ours.delete(name)) {
        await supervisor.remove(name, "plugin folder removed: draining it");
        onEvent({ type: "removed", plugin: name });
      }
      return;
    }
    let spec: PluginSpec;
    let folder: PluginFolder;
    try {
      folder = readPluginFolder(dir, name);
      spec = options.specOf(folder);
    } catch (err) {
      onEvent({ type: "refused", plugin: name, error: (err as Error).message });
      return;
    }
    if (!ours.has(name) || supervisor.get(name) === undefined) {
      if (supervisor.get(name) !== undefined) return; // a plugin of the config with a module of its own
      ours.add(name);
      onEvent({
        type: "added",
        plugin: name,
        update: await supervisor.update(spec, "plugin folder added: starting it"),
      });
      return;
    }
    if (files.length > 0 && files.every((f) => f === "plugin.json")) {
      const refused = options.refusal?.(folder);
      if (refused !== undefined) return onEvent({ type: "refused", plugin: name, error: refused });
      onEvent({ type: "manifest", plugin: name, update: await supervisor.update(spec) });
      return;
    }
    const what = files.slice(0, 3).map((f) => `${name}/${f}`).join(", ") || name;
    onEvent({
      type: "reloaded",
      plugin: name,
      report: await supervisor.reload(name, `${what} changed`, firstAt, spec),
    });
  };
  return watchPath(dir, (burst) => {
    const byPlugin = new Map<string, string[]>();
    let unknown = false;
    for (const path of burst.paths) {
      if (path === "") {
        unknown = true;
        continue;
      }
      const [name, ...rest] = path.split(/[\\/]/);
      const file = rest.join("/");
      if (name === undefined || isNoise(path)) continue;
      const files = byPlugin.get(name) ?? [];
      if (file !== "") files.push(file);
      byPlugin.set(name, files);
    }
    // The platform did not say what changed: look for folders added or removed.
    if (unknown) {
      const present = pluginFolderNames(dir);
      for (const name of present) if (!ours.has(name) && !byPlugin.has(name)) byPlugin.set(name, []);
      for (const name of ours) if (!present.includes(name) && !byPlugin.has(name)) byPlugin.set(name, []);
    }
    for (const [name, files] of byPlugin) serially(name, () => handle(name, files, burst.firstAt));
  }, { recursive: true, debounceMs: options.debounceMs ?? 100 });
}
