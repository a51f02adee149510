import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { runtimeCommand, runtimeEnv } from "../runtime/mod.ts";
import { admitPlugin, PluginRefusedError } from "./allow_list.ts";
import { hashPluginCode } from "./code_hash.ts";
import { readManifest } from "./find_plugins.ts";
import { grantProblems } from "./grant_paths.ts";
import { writeInstanceCredentials } from "./instance_credentials.ts";
import type { InstanceSecrets } from "./instance_credentials.ts";
import { instanceEnv, WITHHELD_ENV } from "./instance_env.ts";
import type { PluginProcessSpec } from "./process_spec.ts";
import { denoSandboxFlags, parsePermissions } from "./sandbox.ts";
import type { PluginPermissions } from "./sandbox.ts";

/** How one instance is started, once its code, sandbox and credentials passed their checks. */
export interface Launch {
  /** The command line: the runtime, its flags, the CLI and `plugin <module> …`. */
  readonly argv: readonly string[];
  readonly env: Record<string, string>;
  /** The module run: the verified copy's entry under an allow-list, else the module as given. */
  readonly module: string;
  /** The digest of what runs (the copy's, under an allow-list); `undefined` when nothing asked for it. */
  readonly digest: string | undefined;
  /** The verified copy's folder, under an allow-list. */
  readonly codeDir: string | undefined;
  /** The Deno flags, when sandboxed. */
  readonly sandbox: readonly string[] | undefined;
  /** The instance's credentials folder: remove it when the instance exits. */
  readonly secrets: InstanceSecrets | undefined;
  /**
   * Variables the manifest asks for that were not passed on: without an allow-list the manifest is
   * an unverified claim of the plugin's, and never `WITHHELD_ENV`.
   */
  readonly unpassed: readonly string[];
}

const SCRIPT = /\.(?:[cm]?[jt]s|[jt]sx)$/;

/**
 * Everything checked before an instance starts: under an allow-list, the code (listed digest, fully
 * covered by the hash, run from a verified copy, with the sandbox and requirements of the copy's own
 * manifest); for a sandboxed Deno instance, its read and write grants (no symbolic links out);
 * then its own credentials folder and a clean environment.
 * @throws {PluginRefusedError} when it may not start; the audit log has a `plugin_refused` line.
 */
export function prepareLaunch(spec: PluginProcessSpec, plugin: string): Launch {
  const refuse = (digest: string | undefined, reason: string): never => {
    spec.audit?.write({ type: "plugin_refused", plugin, module: spec.module, digest, reason });
    throw new PluginRefusedError(plugin, digest, reason);
  };
  let module = spec.module;
  let digest: string | undefined;
  let files: readonly string[] = [];
  let codeDir: string | undefined;
  let permissions = spec.permissions;
  let requires = spec.requires;
  if (spec.allowList !== undefined) {
    const code = admitPlugin(spec.module, {
      allowList: spec.allowList,
      audit: spec.audit,
      codeCache: spec.codeCache,
    }, plugin);
    ({ entry: module, digest, files, dir: codeDir } = code);
    // The manifest as approved, not as read earlier: a plugin.json swapped in between must not widen the sandbox.
    try {
      const manifest = readManifest(dirname(module));
      if (permissions !== undefined) {
        permissions = parsePermissions(manifest.permissions, join(dirname(spec.module), "plugin.json"));
      }
      requires = manifest.requires ?? {};
    } catch (err) {
      return refuse(digest, (err as Error).message);
    }
  } else if (
    spec.audit !== undefined ||
    (spec.runtime === "deno" && permissions !== undefined && permissions !== "all")
  ) {
    ({ digest, files } = hashPluginCode(spec.module));
  }
  const pluginDir = dirname(spec.module);
  const sandboxed = spec.runtime === "deno" && permissions !== undefined && permissions !== "all";
  if (sandboxed) {
    const problems = grantProblems(permissions!, pluginDir);
    if (problems.length > 0) {
      refuse(digest, `its sandbox cannot be granted as its manifest names it: ${problems.join("; ")}`);
    }
  }
  let secrets: InstanceSecrets | undefined;
  try {
    secrets = writeInstanceCredentials(spec.natsCredentials, spec.serverCaFile);
  } catch (err) {
    refuse(digest, `its NATS credentials cannot be given to it: ${(err as Error).message}`);
  }
  const args = [
    "plugin",
    module,
    "--nats",
    spec.natsUrl,
    "--log-format",
    spec.logFormat ?? "pretty",
    "--parent-pid",
    String(process.pid),
  ];
  if (spec.instanceId !== undefined) args.push("--instance-id", spec.instanceId);
  if (spec.options !== undefined) args.push("--options", JSON.stringify(spec.options));
  if (requires !== undefined) args.push("--requires", JSON.stringify(requires));
  if (spec.prefix !== undefined) args.push("--prefix", spec.prefix);
  if (spec.drainTimeoutMs !== undefined) args.push("--drain-timeout", String(spec.drainTimeoutMs));
  if (secrets !== undefined) args.push("--nats-credentials", secrets.file);
  args.push(...(spec.args ?? []));
  const parent = spec.inheritEnv ?? process.env;
  // The manifest's requests count only once the allow-list approved the manifest with the code.
  const asked = requestedEnv(permissions) ?? [];
  const requested = spec.allowList === undefined ? [] : asked;
  const env = {
    ...runtimeEnv(spec.runtime, parent, join(tmpdir(), "switchyard-node-compile-cache")),
    ...instanceEnv(parent, {
      env: spec.env,
      requested,
      extra: { SWITCHYARD_PARENT_PID: String(process.pid) },
    }),
  };
  const sandbox = spec.runtime === "deno" && permissions !== undefined
    ? denoSandboxFlags(permissions, {
      pluginDir,
      module,
      moduleFiles: files.filter((f) => SCRIPT.test(f)),
      natsServers: spec.natsUrl.split(","),
      natsFiles: secrets === undefined ? [] : [secrets.dir],
      env,
    })
    : undefined;
  const argv = runtimeCommand(spec.runtime, spec.cli, args, {
    ...(sandbox === undefined ? {} : { denoPermissions: sandbox }),
    ...(spec.runtimeArgs === undefined ? {} : { runtimeArgs: spec.runtimeArgs }),
  });
  const unpassed = asked.filter((name) =>
    spec.allowList === undefined || WITHHELD_ENV.test(name.replace(/\*$/, ""))
  );
  return { argv, env, module, digest, codeDir, sandbox, secrets, unpassed };
}

/** The variables a manifest asks for by name (`permissions.env` as a list). */
function requestedEnv(permissions: PluginPermissions | undefined): readonly string[] | undefined {
  if (
    permissions === undefined || permissions === "all" || permissions.env === undefined ||
    permissions.env === true
  ) return undefined;
  return permissions.env;
}
