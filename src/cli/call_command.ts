import semver from "semver";
import { decodeWireError, H_DEADLINE, H_INSTANCE, META_INPUT_SCHEMA, META_PREFIX, METHOD_NAME, PLUGIN_NAME, RequestMux, requestMessages, versionSubjectBase, WireHeaders } from "../bus/mod.ts";
import { systemClock } from "../deps.ts";
import { ErrorCode } from "../errors.ts";
import type { Issue } from "../errors.ts";
import { createInputValidator } from "../registry/mod.ts";
import { cliCommand, NATS_FLAG, NATS_HELP, parseFlags, print, printError, UsageError } from "./command.ts";
import type { Command } from "./command.ts";
import { collectInstances, connectClient } from "./bus_client.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export const callCommand: Command = {
  name: "call",
  summary: "call a plugin method over NATS (no router needed)",
  usage: `Usage: switchyard call <plugin> <method> [json] [--version RANGE] [--nats URL] [--timeout MS] [--prefix P]

Finds the plugin by discovery, picks the highest version (or the highest matching RANGE),
checks the input against the method's schema as the router does (same codes and messages),
sends it to the version's queue group and prints the reply (a streaming method's items one per
line, as they come). Exit code 1 on an error answer.
Example: ${cliCommand()} call hello greet '{"name":"World"}'
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
    const [plugin, method, given = ""] = positionals;
    // An empty input is {}, as an empty body is at the router.
    const json = given === "" ? "{}" : given;
    if (plugin === undefined || method === undefined) throw new UsageError("Name a plugin and a method");
    if (values.version !== undefined && semver.validRange(values.version) === null) throw new UsageError(`--version ${values.version} is not a semver range`);
    // The router's checks, in its order and with its codes and messages: the same input gets the
    // same answer here as from POST /v1/<plugin>/<method>.
    if (!PLUGIN_NAME.test(plugin)) return refuse(404, ErrorCode.PluginNotFound, "No such plugin");
    let input: unknown;
    try {
      input = JSON.parse(json);
    } catch {
      return refuse(400, ErrorCode.InvalidJson, "The body is not valid JSON");
    }
    const nc = await connectClient(values.nats, "switchyard-call");
    try {
      // Only instances on this prefix; the subject comes from the names, never from what an instance says.
      const prefix = values.prefix ?? "sy";
      const instances = (await collectInstances(nc, plugin)).filter((i) => (i.metadata[META_PREFIX] ?? prefix) === prefix && i.name === plugin);
      if (instances.length === 0) return refuse(404, ErrorCode.PluginNotFound, `No plugin "${plugin}"`);
      const versions = [...new Set(instances.map((i) => i.version))];
      const version = values.version === undefined ? semver.rsort(versions)[0] : semver.maxSatisfying(versions, values.version);
      const info = instances.find((i) => i.version === version);
      if (version === undefined || version === null || info === undefined) {
        return refuse(503, ErrorCode.NoMatchingVersion, `No version of "${plugin}" matches "${values.version!.slice(0, 100)}"`);
      }
      const endpoint = METHOD_NAME.test(method) ? info.endpoints?.find((e) => e.name === method) : undefined;
      if (endpoint === undefined) {
        return refuse(404, ErrorCode.MethodNotFound, `Plugin "${plugin}" has no method${METHOD_NAME.test(method) ? ` "${method}"` : " of that name"}`);
      }
      const issues = inputIssues(endpoint.metadata?.[META_INPUT_SCHEMA], input);
      if (issues !== undefined) return refuse(422, ErrorCode.ValidationFailed, "The body does not match the method's input schema", issues);
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
          if (err !== undefined) return refuse(err.status, err.code, err.message, err.issues);
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

/** Prints an error as `<status> <code>: <message> [issues]`; exit code 1. */
function refuse(status: number, code: string, message: string, issues?: readonly Issue[]): number {
  printError(`${status} ${code}: ${message}${issues ? ` ${JSON.stringify(issues)}` : ""}`);
  return 1;
}

/** The input's issues against the method's discovered JSON Schema, checked as the router checks it. */
function inputIssues(schemaText: string | undefined, input: unknown): Issue[] | undefined {
  if (schemaText === undefined) return undefined;
  let schema: unknown;
  try {
    schema = JSON.parse(schemaText);
  } catch {
    return undefined; // the router cannot check it either; the plugin will
  }
  return typeof schema === "object" && schema !== null ? createInputValidator(schema as Record<string, unknown>)(input) : undefined;
}
