/**
 * The environment of a plugin instance: nothing of the supervisor's but the bare necessities.
 * @module
 */

/**
 * Variables an instance gets from the supervisor's environment: what the runtimes need to start
 * and find their caches (`PATH`, `HOME`, `TMPDIR`, `DENO_DIR`), locale and terminal settings, the
 * log level, and OpenTelemetry's settings (but not `OTEL_EXPORTER_OTLP_*HEADERS`, which carry the
 * collector's credentials). `X_*` matches a prefix.
 */
export const INHERITED_ENV: readonly string[] = [
  "PATH",
  "HOME",
  "USER",
  "LOGNAME",
  "LANG",
  "LANGUAGE",
  "LC_*",
  "TZ",
  "TMPDIR",
  "TMP",
  "TEMP",
  "TERM",
  "NO_COLOR",
  "FORCE_COLOR",
  "LOG_LEVEL",
  "DENO_DIR",
  "DENO_NO_UPDATE_CHECK",
  "SSL_CERT_FILE",
  "SSL_CERT_DIR",
  "OTEL_*",
];

/**
 * Never passed on from the supervisor's environment, whatever a manifest asks: its NATS
 * credentials, Switchyard's own settings, and the telemetry collector's headers.
 */
export const WITHHELD_ENV = /^(?:NATS_|SWITCHYARD_)|^OTEL_EXPORTER_OTLP(?:_[A-Z]+)?_HEADERS$/;

/** What an instance's environment is made of. */
export interface InstanceEnvOptions {
  /** The plugin's `env` in the config: set as given (the operator's choice, even `NATS_*`). */
  env?: Readonly<Record<string, string>> | undefined;
  /**
   * Names (or `X_*` prefixes) the manifest's `permissions.env` lists: passed on from the
   * supervisor's environment unless withheld. `true` (read any) passes nothing more.
   */
  requested?: true | readonly string[] | undefined;
  /** Set last: what the supervisor itself tells the instance (`SWITCHYARD_PARENT_PID`, a compile cache). */
  extra?: Readonly<Record<string, string>>;
}

/**
 * The environment to start an instance with: from `parent` (the supervisor's) only
 * {@linkcode INHERITED_ENV} and the manifest's requested names (never {@linkcode WITHHELD_ENV}),
 * then the config's `env`, then `extra`.
 */
export function instanceEnv(
  parent: Readonly<Record<string, string | undefined>>,
  options: InstanceEnvOptions = {},
): Record<string, string> {
  const wanted = [
    ...INHERITED_ENV,
    ...(options.requested === true || options.requested === undefined ? [] : options.requested),
  ];
  const matches = (name: string) =>
    wanted.some((w) => (w.endsWith("*") ? w.length > 1 && name.startsWith(w.slice(0, -1)) : name === w));
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(parent)) {
    if (value !== undefined && matches(name) && !WITHHELD_ENV.test(name)) out[name] = value;
  }
  return { ...out, ...options.env, ...options.extra };
}
