import { ErrorCode, SwitchyardError } from "../errors.ts";
import { METHOD_NAME, PLUGIN_NAME } from "../bus/mod.ts";

/**
 * The 404 of a plugin that does not exist. A plugin the caller may not call gets this very error,
 * so the two cannot be told apart.
 */
export function pluginNotFound(plugin: string): SwitchyardError {
  return new SwitchyardError(
    ErrorCode.PluginNotFound,
    PLUGIN_NAME.test(plugin) ? `No plugin "${plugin}"` : "No such plugin",
  );
}

/** The 404 of a method a plugin does not have, or that the caller may not call (the same error). */
export function methodNotFound(plugin: string, method: string): SwitchyardError {
  const shown = METHOD_NAME.test(method) ? ` "${method}"` : " of that name";
  return new SwitchyardError(ErrorCode.MethodNotFound, `Plugin "${plugin}" has no method${shown}`);
}
