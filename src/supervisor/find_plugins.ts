import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseRuntime } from "../runtime/mod.ts";
import type { RuntimeName } from "../runtime/mod.ts";

/** A plugin folder: `<dir>/<name>/mod.ts`, with an optional `plugin.json` manifest. */
export interface PluginFolder {
  name: string;
  module: string;
  runtime: RuntimeName | undefined;
  options: unknown;
}

/** Every `<dir>/*\/mod.ts`, sorted by folder name. `plugin.json` may set `runtime` and `options`. */
export function findPlugins(dir: string): PluginFolder[] {
  const root = resolve(dir);
  if (!existsSync(root)) return [];
  return readdirSync(root, { withFileTypes: true })
    .filter((e) => e.isDirectory() && existsSync(join(root, e.name, "mod.ts")))
    .map((e) => {
      const manifestPath = join(root, e.name, "plugin.json");
      const manifest = existsSync(manifestPath)
        ? JSON.parse(readFileSync(manifestPath, "utf8")) as { runtime?: string; options?: unknown }
        : {};
      return {
        name: e.name,
        module: join(root, e.name, "mod.ts"),
        runtime: manifest.runtime === undefined ? undefined : parseRuntime(manifest.runtime),
        options: manifest.options,
      };
    })
    .sort((a, b) => a.name.localeCompare(b.name));
}
