import { isAbsolute, resolve } from "node:path";
import * as v from "valibot";
import { NATS_CREDENTIAL_ENV } from "../bus/credentials.ts";

const List = v.pipe(v.array(v.pipe(v.string(), v.minLength(1), v.regex(/^[^,]+$/, "must not contain ','"))), v.minLength(1));
const Grant = v.union([v.literal(true), List]);

/**
 * `permissions` in a plugin's `plugin.json`: what its Deno sandbox allows. `true` allows all of a
 * kind; a list allows those hosts (`host:port`), paths (relative to the plugin folder), variable
 * names or commands. Absent kinds are denied. `"all"` turns the sandbox off (`-A`).
 */
export const PluginPermissionsSchema = v.union([
  v.literal("all"),
  v.strictObject({
    net: v.optional(Grant),
    read: v.optional(Grant),
    write: v.optional(Grant),
    env: v.optional(Grant),
    run: v.optional(Grant),
  }),
]);
export type PluginPermissions = v.InferOutput<typeof PluginPermissionsSchema>;

/**
 * Validates a manifest's `permissions`; a missing one is the empty sandbox.
 * @throws {TypeError} naming the manifest and the problem.
 */
export function parsePermissions(raw: unknown, source: string): PluginPermissions {
  if (raw === undefined) return {};
  const parsed = v.safeParse(PluginPermissionsSchema, raw);
  if (parsed.success) return parsed.output;
  throw new TypeError(`${source}: "permissions" ${parsed.issues.map((i) => `${v.getDotPath(i) ?? ""} ${i.message}`.trim()).join("; ")}`);
}

/** What every sandboxed instance needs besides its own permissions. */
export interface SandboxBase {
  /** The plugin's folder: relative `read`/`write` paths resolve against it. */
  pluginDir: string;
  /** The entry module: Deno needs read access to it to import it. */
  module?: string;
  /**
   * The local modules it imports (its code hash's files): Deno asks read access of each module a
   * dynamic import loads that is not loaded yet, e.g. a helper beside the plugin's folder.
   */
  moduleFiles?: readonly string[];
  /** NATS server URLs: each host:port is allowed on the network. */
  natsServers: readonly string[];
  /** NATS credential files the instance reads (creds, nkey seed, TLS CA, cert and key). */
  natsFiles?: readonly string[];
  /**
   * The instance's environment as it starts: when it asks for trace export, the OTLP endpoint's
   * host:port is allowed on the network (see {@linkcode otlpTraceHost}).
   */
  env?: Readonly<Record<string, string | undefined>>;
}

/** The environment variables every instance may read: OpenTelemetry's and its NATS credentials'. */
export const SANDBOX_ENV: readonly string[] = ["OTEL_*", ...NATS_CREDENTIAL_ENV];

/**
 * Variables the OpenTelemetry SDK's dependencies read that a sandboxed instance whose environment
 * asks for trace export sees as unset (`--ignore-env`) instead of failing on: gRPC's settings, read
 * when the SDK loads its exporters, and `DEBUG`, read by the `debug` package. Any `--ignore-env`
 * also lets `Object.keys(process.env)` (the `debug` package lists the variables when it loads)
 * return the granted variables instead of throwing.
 */
export const SANDBOX_IGNORED_ENV: readonly string[] = ["DEBUG", "GRPC_*"];

/**
 * The Deno flags for `permissions`: exactly the granted kinds, plus what reaching NATS takes (its
 * servers' host:port, its credential files and `NATS_*` credential variables), read access to the
 * entry module (Deno asks it of a dynamic import), the `OTEL_*` variables and, when its environment
 * asks for trace export, the OTLP endpoint's host:port and {@linkcode SANDBOX_IGNORED_ENV} read as
 * unset. Nothing else: no `--allow-sys`, `--allow-ffi` or `--allow-all`; with `--no-prompt`, anything
 * else throws `NotCapable` inside the plugin. `"all"` gives `-A`.
 */
export function denoSandboxFlags(permissions: PluginPermissions, base: SandboxBase): string[] {
  if (permissions === "all") return ["-A"];
  const flags: string[] = [];
  const paths = (list: readonly string[]) => list.map((p) => (isAbsolute(p) ? p : resolve(base.pluginDir, p)));
  const kind = (name: string, grant: true | readonly string[] | undefined, extra: readonly string[] = []) => {
    if (grant === true) flags.push(`--allow-${name}`);
    else if (grant !== undefined || extra.length > 0) flags.push(`--allow-${name}=${[...new Set([...(grant ?? []), ...extra])].join(",")}`);
  };
  const tracing = base.env !== undefined && exportsTraces(base.env);
  const otlp = tracing ? otlpTraceHost(base.env!) : undefined;
  kind("net", permissions.net, [...base.natsServers.map(hostPort), ...(otlp === undefined ? [] : [otlp])]);
  const readExtra = [...(base.module === undefined ? [] : [resolve(base.module)]), ...(base.moduleFiles ?? []), ...(base.natsFiles ?? [])];
  kind("read", permissions.read === undefined || permissions.read === true ? permissions.read : paths(permissions.read), readExtra);
  kind("write", permissions.write === undefined || permissions.write === true ? permissions.write : paths(permissions.write));
  kind("env", permissions.env, SANDBOX_ENV);
  // Only where the SDK loads. Deno lets an ignored name win over a granted one: leave out what the manifest grants.
  const granted = permissions.env ?? [];
  const ignored = !tracing || granted === true
    ? []
    : SANDBOX_IGNORED_ENV.filter((name) => !granted.some((g) => overlaps(g, name)));
  if (ignored.length > 0) flags.push(`--ignore-env=${ignored.join(",")}`);
  kind("run", permissions.run);
  return flags;
}

/** Two variable names or `PREFIX_*` patterns match a common name. */
function overlaps(a: string, b: string): boolean {
  const prefix = (p: string) => (p.endsWith("*") ? p.slice(0, -1) : undefined);
  const [pa, pb] = [prefix(a), prefix(b)];
  if (pa !== undefined && pb !== undefined) return pa.startsWith(pb) || pb.startsWith(pa);
  if (pa !== undefined) return b.startsWith(pa);
  if (pb !== undefined) return a.startsWith(pb);
  return a === b;
}

/**
 * True when `env` has the plugin host start the OpenTelemetry SDK (as `tracingRequested()` in
 * `telemetry/otel_sdk.ts` decides): an OTLP endpoint or a traces exporter, and the SDK not disabled.
 */
function exportsTraces(env: Readonly<Record<string, string | undefined>>): boolean {
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === "true") return false;
  const exporter = env.OTEL_TRACES_EXPORTER?.trim();
  if (exporter === "none") return false;
  return Boolean(env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim() || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?.trim() || exporter);
}

/**
 * The host:port an instance with environment `env` exports its spans to, as the OpenTelemetry SDK
 * picks it (`OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`, then `OTEL_EXPORTER_OTLP_ENDPOINT`; a URL without
 * a port means 80 or 443), or `undefined` when it exports none (no endpoint, `OTEL_SDK_DISABLED`,
 * `OTEL_TRACES_EXPORTER=none`) or the endpoint is not a URL. The environment is the operator's
 * (the supervisor's and the config's `env`), never the plugin's own choice.
 */
export function otlpTraceHost(env: Readonly<Record<string, string | undefined>>): string | undefined {
  if (!exportsTraces(env)) return undefined;
  const endpoint = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?.trim() || env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim();
  if (!endpoint) return undefined;
  try {
    const u = new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(endpoint) ? endpoint : `http://${endpoint}`);
    if (u.hostname === "") return undefined;
    return `${u.hostname}:${u.port || (u.protocol === "https:" ? "443" : "80")}`;
  } catch {
    return undefined;
  }
}

/** `host:port` of a NATS URL (`nats://`, `tls://`, `ws://`, `wss://` or bare `host:port`). */
export function hostPort(url: string): string {
  const text = url.trim();
  const withScheme = /^[a-z]+:\/\//i.test(text) ? text : `nats://${text}`;
  const u = new URL(withScheme);
  const scheme = u.protocol.slice(0, -1).toLowerCase();
  const port = u.port || (scheme === "ws" ? "80" : scheme === "wss" ? "443" : "4222");
  return `${u.hostname}:${port}`;
}
