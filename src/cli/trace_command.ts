import type { TreeRow } from "../telemetry/mod.ts";
import { parseFlags, print, printError, UsageError } from "./command.ts";
import type { Command } from "./command.ts";

/** What `GET /dashboard/api/traces/<id>` answers. */
interface TraceAnswer {
  traceId: string;
  requestId: string;
  durationMs: number;
  rows: TreeRow[];
}

/** Attributes worth a glance on a tree line, shown as `name=value`. */
const SHOWN: readonly [string, string][] = [
  ["switchyard.attempt", "attempt"],
  ["switchyard.instance.id", "instance"],
  ["http.response.status_code", "status"],
  ["switchyard.error.code", "code"],
];

export const traceCommand: Command = {
  name: "trace",
  summary: "print one request's trace from the router's recent spans",
  usage:
    `Usage: switchyard trace <trace id | request id> [--router URL] [--api-key KEY | --token TOKEN | --user NAME:PASSWORD] [--json]

Prints the spans of one trace that the router keeps (router.traces.enabled; on in switchyard dev) as a
tree: the router's span, each NATS attempt (a retry is a second one), the plugin's span under the
attempt that reached it, and the plugin's own spans and ctx.calls under that. The id is a trace id
(32 hex digits) or a request id (the x-request-id a response carried). With auth on, the router wants
an admin principal. Exit code 0 when found, 1 when the router does not hold it.
  --router URL        the router (default: $SWITCHYARD_ROUTER or http://127.0.0.1:8080)
  --api-key KEY       sent as x-api-key (default: $SWITCHYARD_API_KEY)
  --token TOKEN       sent as Authorization: Bearer (a JWT; default: $SWITCHYARD_TOKEN)
  --user NAME:PASS    Basic credentials
  --json              print the router's answer as JSON`,
  async run(argv) {
    const { values, positionals } = parseFlags(argv, {
      router: { type: "string" },
      "api-key": { type: "string" },
      token: { type: "string" },
      user: { type: "string" },
      json: { type: "boolean" },
    });
    const id = positionals[0];
    if (id === undefined || !/^[A-Za-z0-9._:-]{1,128}$/.test(id)) {
      throw new UsageError("Name a trace id or a request id, e.g. switchyard trace k3x9q2za-1");
    }
    const base = (values.router ?? process.env.SWITCHYARD_ROUTER ?? "http://127.0.0.1:8080").replace(
      /\/+$/,
      "",
    );
    const headers: Record<string, string> = { accept: "application/json" };
    const apiKey = values["api-key"] ?? process.env.SWITCHYARD_API_KEY;
    const token = values.token ?? process.env.SWITCHYARD_TOKEN;
    if (apiKey) headers["x-api-key"] = apiKey;
    if (token) headers.authorization = `Bearer ${token}`;
    if (values.user !== undefined) headers.authorization = `Basic ${btoa(values.user)}`;
    let res: Response;
    try {
      res = await fetch(`${base}/dashboard/api/traces/${encodeURIComponent(id)}`, { headers });
    } catch (err) {
      printError(`switchyard trace: cannot reach the router at ${base}: ${(err as Error).message}`);
      return 1;
    }
    const text = await res.text();
    if (res.status !== 200) {
      let message = `${res.status} ${text.slice(0, 300)}`;
      try {
        const parsed = JSON.parse(text) as { error?: { code?: string; message?: string } };
        message = `${res.status} ${parsed.error?.code}: ${parsed.error?.message}`;
      } catch {
        // not a JSON error
      }
      printError(`switchyard trace: ${message}`);
      return 1;
    }
    if (values.json) {
      print(text);
      return 0;
    }
    print(renderTrace(JSON.parse(text) as TraceAnswer));
    return 0;
  },
};

/** The trace as lines: a header, then one line per span with its duration, start offset and tree branch. */
export function renderTrace(trace: TraceAnswer): string {
  const services = new Set(trace.rows.map((r) => r.span.service));
  const lines = [
    `trace ${trace.traceId}${
      trace.requestId === "" ? "" : `  request ${trace.requestId}`
    }  ${trace.rows.length} spans  ${ms(trace.durationMs)}  ${[...services].join(", ")}`,
    `${"duration".padStart(10)} ${"start".padStart(10)}  span`,
  ];
  // Per depth: whether that ancestor still has siblings below, so its branch line continues.
  const open: boolean[] = [];
  for (const row of trace.rows) {
    const { span, depth, last } = row;
    let branch = "";
    for (let d = 1; d < depth; d++) branch += open[d] ? "│  " : "   ";
    if (depth > 0) branch += last ? "└─ " : "├─ ";
    open[depth] = !last;
    const details = SHOWN.filter(([key]) => span.attributes[key] !== undefined).map(([key, label]) =>
      `${label}=${span.attributes[key]}`
    );
    if (span.status === "error") details.push(`✗ ${span.statusMessage || "error"}`);
    if (span.events.length > 0) details.push(`events: ${span.events.map((e) => e.name).join(", ")}`);
    lines.push(
      `${ms(span.durationMs).padStart(10)} ${
        `+${ms(row.offsetMs)}`.padStart(10)
      }  ${branch}${span.name}  [${span.service} ${span.kind}]${
        details.length > 0 ? `  ${details.join("  ")}` : ""
      }`,
    );
  }
  return lines.join("\n");
}

function ms(value: number): string {
  return `${value >= 100 ? value.toFixed(0) : value >= 10 ? value.toFixed(1) : value.toFixed(2)} ms`;
}
