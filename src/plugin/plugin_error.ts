import { SwitchyardError } from "../errors.ts";

/** Options of a {@linkcode PluginError}. */
export interface PluginErrorOptions extends ErrorOptions {
  /**
   * HTTP status the router answers with: 4xx, 503 and 504 pass through; anything else becomes 502.
   * @default 500
   */
  status?: number;
}

/**
 * An error a handler throws on purpose: its code, message and status reach the caller.
 *
 * @example
 * ```ts
 * throw new PluginError("out_of_stock", "No more widgets", { status: 409 });
 * ```
 */
export class PluginError extends SwitchyardError {
  constructor(code: string, message: string, options: PluginErrorOptions = {}) {
    super(code, message, { ...options, status: options.status ?? 500 });
    this.name = "PluginError";
  }
}
