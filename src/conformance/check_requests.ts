import { H_INSTANCE, instanceSubjectBase, META_INPUT_SCHEMA, META_OUTPUT_SCHEMA, METHOD_NAME, versionSubjectBase } from "../bus/mod.ts";
import { ErrorCode } from "../errors.ts";
import { schemaProblems } from "./micro_schemas.ts";
import type { Prober, ProbeReply } from "./probe.ts";
import { expectationProblems, hasErrorStatus, readError, replyHeaderProblems } from "./reply_checks.ts";
import type { ReportBuilder } from "./report.ts";
import { violatingInputs } from "./violating_input.ts";

/** The instance whose requests are checked. */
export interface RequestTarget {
  plugin: string;
  id: string;
  version: string;
  prefix: string;
  timeoutMs: number;
}

/** A call that may run for real (it reaches the handler): the only one the checker makes. */
export interface SampleCall {
  method: string;
  input: unknown;
}

/** Not JSON: the host answers before any handler runs. */
export const INVALID_JSON = '{"conformance": ';
/** Requests sent on the version subject, each expected to get exactly one reply. */
const VERSION_PROBES = 3;
/** After a reply on the version subject, wait at least this long for a second one. */
const SECOND_REPLY_MS = 300;

interface Endpoint {
  name: string;
  metadata: Record<string, unknown>;
}

/**
 * Sends requests that no handler runs for (a payload that is not JSON, inputs that break the
 * declared input schema, a method that does not exist) on the version and instance subjects, and
 * the `--call` request if one was given, and checks subjects, queue group, reply headers and errors.
 */
export async function checkRequests(
  prober: Prober,
  info: Record<string, unknown>,
  target: RequestTarget,
  report: ReportBuilder,
  call?: SampleCall,
): Promise<void> {
  const endpoints = (Array.isArray(info.endpoints) ? info.endpoints as Partial<Endpoint>[] : [])
    .filter((e): e is Endpoint => typeof e?.name === "string" && METHOD_NAME.test(e.name))
    .map((e) => ({ name: e.name, metadata: typeof e.metadata === "object" && e.metadata !== null ? e.metadata : {} }));
  const method = call?.method ?? endpoints[0]?.name;
  if (method === undefined) {
    report.skipRest("the instance declares no method to send requests to");
    return;
  }
  const { id, version, timeoutMs } = target;
  const versionBase = versionSubjectBase(target.prefix, target.plugin, version);
  const ownBase = instanceSubjectBase(target.prefix, target.plugin, id);
  const headers = (reply: ProbeReply, expectedId?: string) =>
    report.check("reply.headers", replyHeaderProblems(reply, expectedId === undefined ? { version } : { id: expectedId, version }));
  const expectError = (reply: ProbeReply, rule: "errors.invalid_json" | "errors.validation", expected: { status: number; code: string }, what: string) => {
    const reading = readError(reply);
    report.check("errors.format", reading.formatProblems);
    report.check(rule, expectationProblems(reading, expected, what));
  };
  const invalidJson = { status: 400, code: ErrorCode.InvalidJson };

  // The instance subject: this instance alone.
  const own = `${ownBase}.${method}`;
  const sentAt = Date.now();
  const [ownReply] = await prober.ask(own, INVALID_JSON, { timeoutMs, request: true });
  // A second reply on the version subject may come as late as a first one: on a busy machine, later.
  const secondReplyMs = Math.max(SECOND_REPLY_MS, 3 * (Date.now() - sentAt));
  if (ownReply === undefined || ownReply.noResponders) {
    report.fail("request.instance_subject", ownReply === undefined ? `no reply on ${own}` : `no responders on ${own}`);
  } else {
    const from = ownReply.headers?.get(H_INSTANCE) ?? "";
    report.check("request.instance_subject", from === "" || from === id ? [] : [`${own} was answered by "${from}"`]);
    headers(ownReply, id);
    expectError(ownReply, "errors.invalid_json", invalidJson, `a payload that is not JSON on ${own}`);
  }

  // The version subject: every instance of the version, one queue group, so one reply each.
  const answeredBy = new Set<string>();
  for (let i = 0; i < VERSION_PROBES; i++) {
    const subject = `${versionBase}.${method}`;
    const replies = (await prober.ask(subject, INVALID_JSON, { timeoutMs, moreMs: secondReplyMs, request: true })).filter((r) => !r.noResponders);
    if (replies.length === 0) {
      report.fail("request.version_subject", `no reply on ${subject}`);
      continue;
    }
    if (replies.length > 1) {
      report.fail("request.queue_group", `${replies.length} replies to one request on ${subject}: an instance subscribes outside queue group ${target.plugin}@${version}`);
    }
    for (const reply of replies) {
      answeredBy.add(reply.headers?.get(H_INSTANCE) || "(no sy-instance)");
      headers(reply);
      expectError(reply, "errors.invalid_json", invalidJson, `a payload that is not JSON on ${subject}`);
    }
  }
  if (answeredBy.size > 0) {
    const note = `answered by ${[...answeredBy].join(", ")}${answeredBy.has(id) ? "" : " (other instances of the version)"}`;
    report.pass("request.version_subject", note);
    report.pass("request.queue_group", `one reply per request (${VERSION_PROBES} requests)`);
  }

  await checkValidation(prober, endpoints, { ownBase, timeoutMs }, { report, headers, expectError: (r, what) => expectError(r, "errors.validation", { status: 422, code: ErrorCode.ValidationFailed }, what), id });

  // A method nobody declared: 404 from an instance that subscribes with a wildcard; none from one
  // that subscribes per method (routers answer 404 themselves from the catalog).
  const missing = `${ownBase}.conformanceNoSuchMethod`;
  const [missingReply] = await prober.ask(missing, "{}", { timeoutMs, request: true });
  if (missingReply === undefined) report.fail("errors.method_not_found", `no reply on ${missing}`);
  else if (missingReply.noResponders) report.pass("errors.method_not_found", "nobody subscribes to unknown methods");
  else {
    headers(missingReply, id);
    const reading = readError(missingReply);
    report.check("errors.format", reading.formatProblems);
    report.check("errors.method_not_found", expectationProblems(reading, { status: 404, code: ErrorCode.MethodNotFound }, `an unknown method on ${missing}`));
  }

  if (call === undefined) {
    report.skip("reply.success", "give --call <method> (and --input <json>) to check a success reply; the checker runs no handler on its own");
    return;
  }
  const endpoint = endpoints.find((e) => e.name === call.method);
  const subject = `${ownBase}.${call.method}`;
  const [reply] = await prober.ask(subject, JSON.stringify(call.input), { timeoutMs, request: true });
  if (endpoint === undefined) report.fail("reply.success", `the instance declares no method "${call.method}"`);
  else if (reply === undefined || reply.noResponders) report.fail("reply.success", `no reply on ${subject}`);
  else {
    headers(reply, id);
    if (hasErrorStatus(reply)) report.fail("reply.success", `the call answered an error: ${new TextDecoder().decode(reply.data).slice(0, 300)}`);
    else {
      const output = jsonParse(reply.data);
      if (output === undefined) report.fail("reply.success", "the reply is not JSON");
      else {
        const schema = jsonParse(new TextEncoder().encode(String(endpoint.metadata[META_OUTPUT_SCHEMA] ?? "{}")))?.value;
        const problems = isSchema(schema) ? schemaProblems(schema, output.value) : [];
        report.check("reply.success", problems.map((p) => `the output does not match sy.output_schema: ${p}`));
      }
    }
  }
}

/** Sends inputs the declared input schema rejects, to the first method that declares such a schema. */
async function checkValidation(
  prober: Prober,
  endpoints: Endpoint[],
  where: { ownBase: string; timeoutMs: number },
  check: { report: ReportBuilder; id: string; headers: (r: ProbeReply, id?: string) => void; expectError: (r: ProbeReply, what: string) => void },
): Promise<void> {
  for (const endpoint of endpoints) {
    const schema = jsonParse(new TextEncoder().encode(String(endpoint.metadata[META_INPUT_SCHEMA] ?? "")));
    if (schema === undefined || !isSchema(schema.value)) continue;
    const inputs = violatingInputs(schema.value);
    if (inputs.length === 0) continue;
    const subject = `${where.ownBase}.${endpoint.name}`;
    for (const input of inputs) {
      const [reply] = await prober.ask(subject, JSON.stringify(input), { timeoutMs: where.timeoutMs, request: true });
      const what = `input ${JSON.stringify(input)} on ${subject}`;
      if (reply === undefined || reply.noResponders) check.report.fail("errors.validation", `no reply to ${what}`);
      else {
        check.headers(reply, check.id);
        check.expectError(reply, what);
      }
    }
    return;
  }
  check.report.skip("errors.validation", "no method declares an input schema that rejects any input");
}

function jsonParse(data: Uint8Array): { value: unknown } | undefined {
  try {
    return { value: JSON.parse(new TextDecoder().decode(data)) as unknown };
  } catch {
    return undefined;
  }
}

function isSchema(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
