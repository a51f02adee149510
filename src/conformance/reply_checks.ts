import { Match } from "@nats-io/nats-core";
import { H_ERROR_CODE, H_INSTANCE, H_SERVICE_ERROR, H_SERVICE_ERROR_CODE, H_VERSION, INSTANCE_ID } from "../bus/mod.ts";
import { ISSUES_SCHEMA, schemaProblems } from "./micro_schemas.ts";
import { jsonObjectOf } from "./probe.ts";
import type { ProbeReply } from "./probe.ts";

/**
 * A header's value, or the problem with it: missing, or present only under another spelling
 * (header names are matched exactly, as routers match them).
 */
function header(reply: ProbeReply, name: string): { value: string } | { problem: string } {
  const value = reply.headers?.get(name) ?? "";
  if (value !== "") return { value };
  const other = reply.headers?.keys().find((k) => k.toLowerCase() === name.toLowerCase() && k !== name);
  if (other !== undefined) return { problem: `${name} is sent as "${other}" (header names are case-sensitive)` };
  return { problem: `${name} is missing` };
}

/** What is wrong with a reply's `sy-instance` and `sy-version` (`id` when the instance that answers is known). */
export function replyHeaderProblems(reply: ProbeReply, expected: { id?: string; version: string }): string[] {
  const where = ` (reply on ${reply.subject})`;
  const problems: string[] = [];
  const instance = header(reply, H_INSTANCE);
  if ("problem" in instance) problems.push(instance.problem + where);
  else if (expected.id !== undefined && instance.value !== expected.id) problems.push(`${H_INSTANCE} is "${instance.value}", not "${expected.id}"${where}`);
  else if (!INSTANCE_ID.test(instance.value)) problems.push(`${H_INSTANCE} "${instance.value}" is not an instance id${where}`);
  const version = header(reply, H_VERSION);
  if ("problem" in version) problems.push(version.problem + where);
  else if (version.value !== expected.version) problems.push(`${H_VERSION} is "${version.value}", not "${expected.version}"${where}`);
  return problems;
}

/** An error reply as read from its headers and body. */
export interface ErrorReading {
  status: number;
  code: string;
  issues: unknown;
  /** What breaks the error format (headers and body that agree). */
  formatProblems: string[];
}

/** Reads an error reply and lists what breaks the format: the micro headers, `sy-error-code`, the JSON body. */
export function readError(reply: ProbeReply): ErrorReading {
  const where = ` (reply on ${reply.subject})`;
  const problems: string[] = [];
  const statusHeader = header(reply, H_SERVICE_ERROR_CODE);
  let status = 0;
  if ("problem" in statusHeader) problems.push(statusHeader.problem + where);
  else if (!/^[45]\d\d$/.test(statusHeader.value)) problems.push(`${H_SERVICE_ERROR_CODE} "${statusHeader.value}" is not an HTTP error status (400-599)${where}`);
  else status = Number(statusHeader.value);
  const message = header(reply, H_SERVICE_ERROR);
  if ("problem" in message) problems.push(message.problem + where);
  const codeHeader = header(reply, H_ERROR_CODE);
  if ("problem" in codeHeader) problems.push(codeHeader.problem + where);
  const code = "value" in codeHeader ? codeHeader.value : "";
  const body = jsonObjectOf(reply);
  const error = body?.error as { code?: unknown; message?: unknown; issues?: unknown } | undefined;
  if (typeof error !== "object" || error === null) problems.push(`the body is not {"error":{"code","message"}}${where}`);
  else {
    if (typeof error.code !== "string") problems.push(`the body's error.code is not a string${where}`);
    else if ("value" in codeHeader && error.code !== code) problems.push(`the body's error.code "${error.code}" differs from ${H_ERROR_CODE} "${code}"${where}`);
    if (typeof error.message !== "string") problems.push(`the body's error.message is not a string${where}`);
  }
  return { status, code: code || (typeof error?.code === "string" ? error.code : ""), issues: error?.issues, formatProblems: problems };
}

/** Why an error reply is not the expected status and code (`issues` too, for 422). */
export function expectationProblems(reading: ErrorReading, expected: { status: number; code: string }, where: string): string[] {
  const problems: string[] = [];
  if (reading.status !== expected.status || reading.code !== expected.code) {
    problems.push(`${where}: got ${reading.status || "no status"} ${reading.code || "(no code)"}, expected ${expected.status} ${expected.code}`);
  }
  if (expected.status === 422) problems.push(...schemaProblems(ISSUES_SCHEMA, reading.issues).map((p) => `${where}: issues ${p}`));
  return problems;
}

/** True when the reply is an error reply: it carries an error status header, in any spelling. */
export function hasErrorStatus(reply: ProbeReply): boolean {
  return (reply.headers?.get(H_SERVICE_ERROR_CODE, Match.IgnoreCase) ?? "") !== "";
}
