import * as v from "valibot";

/** `sha256:<64 hex>`, as `switchyard hash-plugin` prints it. */
export const CODE_HASH = /^sha256:[0-9a-f]{64}$/;
const Hash = v.pipe(v.string(), v.regex(CODE_HASH, 'must be "sha256:" and 64 lowercase hex digits (switchyard hash-plugin)'));
const PluginName = v.pipe(v.string(), v.regex(/^[a-z][a-z0-9-]{0,62}$/));

/** Plugin name → the code hashes allowed to run (several while a new version rolls out). */
export const AllowListEntriesSchema = v.record(PluginName, v.union([Hash, v.pipe(v.array(Hash), v.minLength(1))]));

/** `allowList` in the config. */
export const AllowListSchema = v.strictObject({
  /** Entries in the config itself. */
  plugins: v.optional(AllowListEntriesSchema, {}),
  /** A JSON file of more entries (same shape as `plugins`), read again on reload. */
  file: v.optional(v.pipe(v.string(), v.minLength(1))),
  /** Where refusals and starts are appended as JSON lines. @default none */
  auditLog: v.optional(v.pipe(v.string(), v.minLength(1))),
  /**
   * Where approved code is copied (read-only, one folder per digest) and run from: a folder of
   * the supervisor's user that nobody else may write. @default `<tmpdir>/switchyard-code-<uid>`
   */
  codeCache: v.optional(v.pipe(v.string(), v.minLength(1))),
});

export type AllowListOptions = v.InferInput<typeof AllowListSchema>;
export type ResolvedAllowListOptions = v.InferOutput<typeof AllowListSchema>;
