import { connectBus, INSTANCE_ID, METHOD_NAME, natsCredentialsFromEnv, parseServers, PLUGIN_NAME } from "../bus/mod.ts";
import { checkConformance, formatReport } from "../conformance/mod.ts";
import type { ConformanceOptions } from "../conformance/mod.ts";
import { NATS_FLAG, NATS_HELP, parseFlags, print, printError, UsageError } from "./command.ts";
import type { Command } from "./command.ts";

const DEFAULT_DRAIN_WAIT_MS = 30_000;

export const conformanceCommand: Command = {
  name: "conformance",
  summary: "check a running plugin instance, in any language, against the bus protocol",
  usage: `Usage: switchyard conformance <plugin> [--instance ID] [--nats URL] [--json] [options]

Checks one running instance of <plugin> against the bus protocol (docs/protocol.md): its
$SRV.PING/INFO/STATS answers against the NATS micro schemas, its metadata, version and instance
subjects, queue group, reply headers, error replies (a payload that is not JSON, inputs its own
input schema rejects), its events and, with --drain, the drain sequence. Prints one line per rule
with the section of docs/protocol.md that states it. Exits 0 when every required rule passes, 1
when one fails, 2 on bad arguments.

It sends only requests that no handler runs for, unless --call names a method to call for real.

${NATS_HELP}
  --instance ID       the instance to check (default: the first instance that answers, by id)
  --prefix P          the subject prefix in use (default "sy")
  --call METHOD       also call METHOD for real on the instance and check the success reply
  --input JSON        the input of --call (default {})
  --wait MS           wait up to MS for an instance to appear; start the checker before the
                      plugin to check its started event too (default 0)
  --drain             check the drain: the checker asks you to send SIGTERM to the instance, then
                      follows draining, the instance subject, the queue group, stopped
  --drain-timeout MS  how long to wait for draining, and then for stopped (default ${DEFAULT_DRAIN_WAIT_MS})
  --timeout MS        how long each answer may take (default 2000)
  --json              print the report as JSON ({ok, results: [{id, status, required, section, title, detail}]})

Credentials come from NATS_USER/NATS_PASSWORD, NATS_TOKEN, NATS_NKEY, NATS_CREDS, NATS_CA,
NATS_CERT, NATS_KEY and NATS_INBOX_PREFIX.

Examples:
  switchyard conformance hello --call greet --input '{"name":"Ada"}'
  switchyard conformance pywords --instance py-1 --drain --json > report.json`,
  async run(argv) {
    const { values, positionals } = parseFlags(argv, {
      ...NATS_FLAG,
      instance: { type: "string" },
      prefix: { type: "string" },
      call: { type: "string" },
      input: { type: "string" },
      wait: { type: "string" },
      drain: { type: "boolean" },
      "drain-timeout": { type: "string" },
      timeout: { type: "string" },
      json: { type: "boolean" },
    });
    const plugin = positionals[0];
    if (plugin === undefined || !PLUGIN_NAME.test(plugin)) throw new UsageError("Name a plugin, e.g. switchyard conformance hello");
    if (positionals.length > 1) throw new UsageError(`Unexpected argument "${positionals[1]}"`);
    const instanceId = values.instance;
    if (instanceId !== undefined && !INSTANCE_ID.test(instanceId)) throw new UsageError(`--instance must match ${INSTANCE_ID.source}`);
    if (values.prefix !== undefined && !/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/.test(values.prefix)) throw new UsageError("--prefix must be NATS subject tokens");
    if (values.call !== undefined && !METHOD_NAME.test(values.call)) throw new UsageError(`--call must match ${METHOD_NAME.source}`);
    if (values.input !== undefined && values.call === undefined) throw new UsageError("--input goes with --call");
    let input: unknown = {};
    if (values.input !== undefined) {
      try {
        input = JSON.parse(values.input);
      } catch {
        throw new UsageError("--input must be JSON");
      }
    }
    const ms = (flag: string, value: string | undefined, fallback: number) => {
      const n = value === undefined ? fallback : Number(value);
      if (!Number.isInteger(n) || n < 0) throw new UsageError(`--${flag} must be a number of milliseconds`);
      return n;
    };
    const json = values.json === true;
    const options: ConformanceOptions = {
      plugin,
      instanceId,
      prefix: values.prefix,
      timeoutMs: ms("timeout", values.timeout, 2_000),
      waitMs: ms("wait", values.wait, 0),
      call: values.call === undefined ? undefined : { method: values.call, input },
    };
    if (values.drain === true) {
      const timeoutMs = ms("drain-timeout", values["drain-timeout"], DEFAULT_DRAIN_WAIT_MS);
      options.drain = {
        timeoutMs,
        // To standard error, so --json output stays one document.
        prompt: (t) => printError(`Send SIGTERM to instance ${t.id} of ${t.plugin} ${t.version} now (waiting up to ${timeoutMs / 1000} s for it to drain).`),
      };
    }
    const credentials = natsCredentialsFromEnv(process.env);
    const nc = await connectBus({
      servers: parseServers(values.nats) ?? parseServers(process.env.NATS_URL) ?? ["nats://127.0.0.1:4222"],
      name: "switchyard-conformance",
      maxReconnectAttempts: 0,
      ...credentials,
    });
    try {
      const report = await checkConformance(nc, { ...options, inboxPrefix: credentials.inboxPrefix });
      print(json ? JSON.stringify(report, null, 2) : formatReport(report));
      return report.ok ? 0 : 1;
    } finally {
      await nc.close();
    }
  },
};
