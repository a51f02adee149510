import semver from "semver";
import { decodeWireError, H_INSTANCE, META_PREFIX, METHOD_NAME, PLUGIN_NAME, versionSubjectBase } from "../bus/mod.ts";
import { NATS_FLAG, NATS_HELP, parseFlags, print, printError, UsageError } from "./command.ts";
import type { Command } from "./command.ts";
import { collectInstances, connectClient } from "./bus_client.ts";

export const callCommand: Command = {
  name: "call",
  summary: "call a plugin method over NATS (no router needed)",
  usage: `Usage: switchyard call <plugin> <method> [json] [--version RANGE] [--nats URL] [--timeout MS] [--prefix P]

Finds the plugin by discovery, picks the highest version (or the highest matching RANGE),
sends the JSON input to its queue group and prints the reply.
Example: switchyard call hello greet '{"name":"World"}'
${NATS_HELP}
  --version RANGE     semver range, e.g. ^1
  --timeout MS        default 10000
  --prefix P          subject prefix (default: sy)`,
  async run(argv) {
    const { values, positionals } = parseFlags(argv, {
      ...NATS_FLAG,
      version: { type: "string" },
      timeout: { type: "string" },
      prefix: { type: "string" },
    });
    const [plugin, method, json = "{}"] = positionals;
    if (plugin === undefined || method === undefined) throw new UsageError("Name a plugin and a method");
    if (!PLUGIN_NAME.test(plugin) || !METHOD_NAME.test(method)) throw new UsageError("Malformed plugin or method name");
    try {
      JSON.parse(json);
    } catch {
      throw new UsageError(`The input is not valid JSON: ${json}`);
    }
    const nc = await connectClient(values.nats, "switchyard-call");
    try {
      // Only instances on this prefix; the subject comes from the names, never from what an instance says.
      const prefix = values.prefix ?? "sy";
      const instances = (await collectInstances(nc, plugin)).filter((i) => (i.metadata[META_PREFIX] ?? prefix) === prefix && i.name === plugin);
      const versions = [...new Set(instances.map((i) => i.version))];
      const version = values.version === undefined ? semver.rsort(versions)[0] : semver.maxSatisfying(versions, values.version);
      const info = instances.find((i) => i.version === version);
      if (version === undefined || version === null || info === undefined) {
        printError(instances.length === 0 ? `No instance of "${plugin}" is running` : `No version of "${plugin}" matches ${values.version}`);
        return 1;
      }
      const subject = `${versionSubjectBase(prefix, plugin, version)}.${method}`;
      const reply = await nc.request(subject, json, { timeout: Number(values.timeout ?? 10_000) });
      const err = decodeWireError(reply.headers, reply.data);
      if (err !== undefined) {
        printError(`${err.status} ${err.code}: ${err.message}${err.issues ? ` ${JSON.stringify(err.issues)}` : ""}`);
        return 1;
      }
      printError(`served by ${plugin}@${version} #${reply.headers?.get(H_INSTANCE) ?? "?"}`);
      print(reply.string());
      return 0;
    } finally {
      await nc.close();
    }
  },
};
