import { H_BYTES, H_END, H_SEQ, H_STREAM, instanceSubjectBase, STREAM_ID, streamSubject, UNSIZED } from "../bus/mod.ts";
import { ErrorCode } from "../errors.ts";
import type { Prober, ProbeReply } from "./probe.ts";
import { expectationProblems, hasErrorStatus, readError, replyHeaderProblems } from "./reply_checks.ts";
import type { ReportBuilder } from "./report.ts";

/** The instance whose inputs in chunks are checked, and the method they go to. */
export interface InputTarget {
  plugin: string;
  id: string;
  version: string;
  prefix: string;
  method: string;
  timeoutMs: number;
}

/**
 * Sends `payload` (not JSON, so no handler runs) as an input in two chunks on the instance
 * subject, once with its size announced and once as `sy-bytes: *` with the last chunk marked
 * `sy-end`: each must be acknowledged after its first chunk (empty, naming a session, `sy-seq: 0`)
 * and answered `400 invalid_json` after its last.
 */
export async function checkInputChunks(prober: Prober, target: InputTarget, payload: string, report: ReportBuilder): Promise<void> {
  const cut = Math.ceil(payload.length / 2);
  const chunks = [payload.slice(0, cut), payload.slice(cut)] as const;
  for (const [rule, bytes] of [["input.chunks", String(new TextEncoder().encode(payload).length)], ["input.unsized", UNSIZED]] as const) {
    report.check(rule, await uploadProblems(prober, target, chunks, bytes, report));
  }
}

/** What breaks the rule; what breaks the reply headers goes to their own rule. */
async function uploadProblems(
  prober: Prober,
  target: InputTarget,
  chunks: readonly [string, string],
  bytes: string,
  report: ReportBuilder,
): Promise<string[]> {
  const { timeoutMs, id } = target;
  const subject = `${instanceSubjectBase(target.prefix, target.plugin, id)}.${target.method}`;
  const [ack] = await prober.ask(subject, chunks[0], { timeoutMs, request: true, headers: { [H_BYTES]: bytes } });
  const first = `the first chunk of an input with ${H_BYTES}: ${bytes} on ${subject}`;
  if (ack === undefined) return [`no answer to ${first}`];
  if (ack.noResponders) return [`no responders to ${first}`];
  if (hasErrorStatus(ack)) return [`${first} was answered with an error instead of an acknowledgement: ${text(ack)}`];
  report.check("reply.headers", replyHeaderProblems(ack, { id, version: target.version }));
  const problems: string[] = [];
  if (ack.data.length !== 0) problems.push(`the acknowledgement of ${first} is not empty`);
  if (ack.headers?.get(H_SEQ) !== "0") problems.push(`the acknowledgement of ${first} says ${H_SEQ} "${ack.headers?.get(H_SEQ) ?? ""}", not "0"`);
  const stream = ack.headers?.get(H_STREAM) ?? "";
  if (!STREAM_ID.test(stream)) return [...problems, `the acknowledgement of ${first} names no session (${H_STREAM} "${stream}")`];
  const session = streamSubject(instanceSubjectBase(target.prefix, target.plugin, id), stream);
  const headers: Record<string, string> = { [H_SEQ]: "1", ...(bytes === UNSIZED ? { [H_END]: "1" } : {}) };
  const [last] = await prober.ask(session, chunks[1], { timeoutMs, headers });
  const what = `the last chunk of an input that is not JSON, on ${session}`;
  if (last === undefined || last.noResponders) return [...problems, `${last === undefined ? "no answer" : "no responders"} to ${what}`];
  report.check("reply.headers", replyHeaderProblems(last, { id, version: target.version }));
  const reading = readError(last);
  report.check("errors.format", reading.formatProblems);
  problems.push(...expectationProblems(reading, { status: 400, code: ErrorCode.InvalidJson }, what));
  return problems;
}

function text(reply: ProbeReply): string {
  return new TextDecoder().decode(reply.data).slice(0, 200);
}
