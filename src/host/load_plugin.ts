import { isAbsolute, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { isPlugin } from "../plugin/mod.ts";
import type { Plugin } from "../plugin/mod.ts";

/**
 * Imports a plugin module and returns its default export.
 * @throws {TypeError} when the module's default export is not made by `definePlugin`.
 */
export async function loadPlugin(path: string): Promise<Plugin> {
  const url = pathToFileURL(isAbsolute(path) ? path : resolve(path)).href;
  const mod = await import(url) as { default?: unknown };
  if (!isPlugin(mod.default)) {
    throw new TypeError(`${path} must export default definePlugin({...}) from "switchyard/plugin"`);
  }
  return mod.default;
}
