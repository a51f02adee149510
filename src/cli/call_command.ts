import semver from "semver";
import { decodeWireError, H_DEADLINE, H_INSTANCE, META_PREFIX, METHOD_NAME, PLUGIN_NAME, RequestMux, requestMessages, versionSubjectBase, WireHeaders } from "../bus/mod.ts";
import { systemClock } from "../deps.ts";
import { NATS_FLAG, NATS_HELP, parseFlags, print, printError, UsageError } from "./command.ts";
import type { Command } from "./command.ts";
import { collectInstances, connectClient } from "./bus_client.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export const callCommand: Command = {
  name: "call",
  summary: "call a plugin method over NATS (no router needed)",
  usage: `Usage: switchyard call <plugin> <method> [json] [--version RANGE] [--nats URL] [--timeout MS] [--prefix P]

Finds the plugin by discovery, picks the highest version (or the highest matching RANGE),
sends the JSON input to its queue group and prints the reply (a streaming method's items one per
line, as they come).
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
      // A streaming method's items are printed one per line as they come; a large reply comes whole.
      const mux = new RequestMux(nc);
      try {
        const timeoutMs = Number(values.timeout ?? 10_000);
        const headers = new WireHeaders();
        headers.set(H_DEADLINE, String(Date.now() + timeoutMs));
        let first = true;
        for await (const reply of requestMessages(mux, subject, encoder.encode(json), { headers, prefix, plugin, timeoutMs, clock: systemClock })) {
          const err = decodeWireError(reply.headers, reply.data);
          if (err !== undefined) {
            printError(`${err.status} ${err.code}: ${err.message}${err.issues ? ` ${JSON.stringify(err.issues)}` : ""}`);
            return 1;
          }
          if (first) printError(`served by ${plugin}@${version} #${reply.headers?.get(H_INSTANCE) ?? "?"}`);
          first = false;
          if (reply.data.length > 0) print(decoder.decode(reply.data));
        }
        return 0;
      } finally {
        mux.close();
      }
    } finally {
      await nc.close();
    }
  },
};
