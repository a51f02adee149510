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
}

/** The environment variables every instance may read: OpenTelemetry's and its NATS credentials'. */
export const SANDBOX_ENV: readonly string[] = ["OTEL_*", ...NATS_CREDENTIAL_ENV];

/**
 * The Deno flags for `permissions`: exactly the granted kinds, plus what reaching NATS takes (its
 * servers' host:port, its credential files and `NATS_*` credential variables), read access to the
 * entry module (Deno asks it of a dynamic import) and the `OTEL_*` variables. Nothing else:
 * no `--allow-sys`, `--allow-ffi` or `--allow-all`; with `--no-prompt`, anything else throws
 * `NotCapable` inside the plugin. `"all"` gives `-A`.
 */
export function denoSandboxFlags(permissions: PluginPermissions, base: SandboxBase): string[] {
  if (permissions === "all") return ["-A"];
  const flags: string[] = [];
  const paths = (list: readonly string[]) => list.map((p) => (isAbsolute(p) ? p : resolve(base.pluginDir, p)));
  const kind = (name: string, grant: true | readonly string[] | undefined, extra: readonly string[] = []) => {
    if (grant === true) flags.push(`--allow-${name}`);
    else if (grant !== undefined || extra.length > 0) flags.push(`--allow-${name}=${[...new Set([...(grant ?? []), ...extra])].join(",")}`);
  };
  kind("net", permissions.net, base.natsServers.map(hostPort));
  const readExtra = [...(base.module === undefined ? [] : [resolve(base.module)]), ...(base.moduleFiles ?? []), ...(base.natsFiles ?? [])];
  kind("read", permissions.read === undefined || permissions.read === true ? permissions.read : paths(permissions.read), readExtra);
  kind("write", permissions.write === undefined || permissions.write === true ? permissions.write : paths(permissions.write));
  kind("env", permissions.env, SANDBOX_ENV);
  kind("run", permissions.run);
  return flags;
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
