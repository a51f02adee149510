import * as v from "valibot";
import { NATS_SECURITY_FIELDS } from "../bus/mod.ts";

export const DEFAULT_REPLICAS = 1;
export const DEFAULT_RESTART_BASE_DELAY_MS = 100;
export const DEFAULT_RESTART_MAX_DELAY_MS = 30_000;
export const DEFAULT_STABLE_AFTER_MS = 10_000;
export const DEFAULT_CRASH_LOOP_RESTARTS = 5;
export const DEFAULT_CRASH_LOOP_WINDOW_MS = 60_000;
export const DEFAULT_START_TIMEOUT_MS = 30_000;
export const DEFAULT_PLUGIN_DRAIN_TIMEOUT_MS = 10_000;

const Millis = v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(3_600_000));

/** `plugins.<name>.nats`: the shapes of `nats.*` (user/pass, token, nkey seed, creds file, TLS, inbox prefix). */
function PluginNatsSchema() {
  return v.strictObject({
    user: v.optional(v.pipe(v.string(), v.minLength(1))),
    pass: v.optional(v.string()),
    token: v.optional(v.pipe(v.string(), v.minLength(1))),
    ...NATS_SECURITY_FIELDS,
  });
}

/**
 * The supervisor's keys of `plugins.<name>` (the router's are in the same object, so one file
 * configures both). A plugin with a `module` is run by `switchyard up`.
 */
export const SupervisedPluginFields = {
  /** The plugin's module, relative to the config file. */
  module: v.optional(v.pipe(v.string(), v.minLength(1))),
  /** @default the supervisor's own runtime */
  runtime: v.optional(v.picklist(["deno", "bun", "node"])),
  /** Instances to keep running. @default 1 */
  replicas: v.optional(v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(256))),
  /**
   * The instances' environment, on top of the few variables they inherit (PATH, HOME, locale,
   * OTEL_*; never the supervisor's NATS_*): see docs/security.md.
   */
  env: v.optional(v.record(v.pipe(v.string(), v.regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "must be an environment variable name")), v.string())),
  /** Extra arguments of `switchyard plugin <module>`, e.g. `["--weight", "2"]`. */
  args: v.optional(v.array(v.string())),
  /** Flags for the runtime itself, before the script, e.g. `["--max-old-space-size=256"]` for node. */
  runtimeArgs: v.optional(v.array(v.string())),
  /** The plugin's options (`ctx.options`, also in `init`); a change reaches running instances without a restart. */
  options: v.optional(v.unknown()),
  /**
   * The plugin's own NATS credentials, handed to each instance in a folder only it uses (files
   * relative to the config file). Without them an instance connects with none: it never gets the
   * supervisor's.
   */
  nats: v.optional(PluginNatsSchema()),
};

/** One plugin's supervisor fields (`plugins.<name>.module`, `.runtime`, ...), as resolved. */
export type SupervisedPlugin = v.InferOutput<v.ObjectSchema<typeof SupervisedPluginFields, undefined>>;

/** Top-level `supervisor`: restarts, crash loops, start and drain deadlines. */
export const SupervisorSchema = v.strictObject({
  restart: v.optional(
    v.strictObject({
      /** The first restart waits this long; each crash in a row doubles it. @default 100 */
      baseDelayMs: v.optional(Millis, DEFAULT_RESTART_BASE_DELAY_MS),
      /** @default 30000 */
      maxDelayMs: v.optional(Millis, DEFAULT_RESTART_MAX_DELAY_MS),
      /** An instance that ran this long resets the backoff. @default 10000 */
      stableAfterMs: v.optional(Millis, DEFAULT_STABLE_AFTER_MS),
    }),
    {},
  ),
  crashLoop: v.optional(
    v.strictObject({
      /** This many crashes within `windowMs` is a crash loop: reported, and restarts wait `maxDelayMs`. @default 5 */
      restarts: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(1_000)), DEFAULT_CRASH_LOOP_RESTARTS),
      /** @default 60000 */
      windowMs: v.optional(Millis, DEFAULT_CRASH_LOOP_WINDOW_MS),
    }),
    {},
  ),
  /** A new instance must answer discovery and health within this. @default 30000 */
  startTimeoutMs: v.optional(Millis, DEFAULT_START_TIMEOUT_MS),
  /** Given to each instance as `--drain-timeout`; it is killed 5 s after it. @default 10000 */
  drainTimeoutMs: v.optional(Millis, DEFAULT_PLUGIN_DRAIN_TIMEOUT_MS),
});
export type ResolvedSupervisorOptions = v.InferOutput<typeof SupervisorSchema>;
