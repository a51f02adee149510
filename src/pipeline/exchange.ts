import { announcedReplySize, collectChunks, H_BYTES, requestInChunks, sessionSubject } from "../bus/mod.ts";
import type { BusReply } from "../bus/mod.ts";
import type { Call, SendContext } from "./types.ts";

/** A reply in chunks is refused above this unless the call says otherwise (`Call.maxReplyBytes`). */
export const DEFAULT_MAX_REPLY_BYTES = 64 * 1024 * 1024;

/** Where one attempt goes: the plugin (its session subjects' namespace) and the subject picked. */
export interface AttemptTarget {
  readonly plugin: string;
  readonly subject: string;
}

/** Sends an attempt whose input does not fit one message, in chunks (see `requestInChunks`). */
export function sendInChunks(
  pipeline: SendContext,
  to: AttemptTarget,
  call: Call,
  timeoutMs: number,
): Promise<BusReply> {
  const { mux, clock, registry } = pipeline;
  return requestInChunks(mux, { subject: to.subject, data: call.body ?? call.data, headers: call.headers }, {
    timeoutMs,
    tag: to.plugin,
    clock,
    session: (ack) => sessionSubject(registry.prefix, to.plugin, ack),
  });
}

/**
 * The whole reply of an attempt whose first message names a session (`reply.stream`): a reply in
 * chunks is pulled whole, within the attempt; a stream's first message is returned as is when the
 * call is a stream's, and a reply in chunks' first message when the call says `pullReply` (their
 * rest is the caller's to pull).
 */
export function completeReply(
  pipeline: SendContext,
  plugin: string,
  call: Call,
  reply: BusReply,
): BusReply | Promise<BusReply> {
  if (call.stream === true && reply.headers?.get(H_BYTES) === "") return reply;
  const { mux, clock, registry } = pipeline;
  const subject = sessionSubject(registry.prefix, plugin, reply);
  const limit = call.maxReplyBytes ?? DEFAULT_MAX_REPLY_BYTES;
  if (call.pullReply === true && reply.headers?.get(H_BYTES)) {
    announcedReplySize(mux, reply, subject, limit);
    return reply;
  }
  return collectChunks(mux, reply, {
    subject,
    limit,
    deadline: call.deadline,
    tag: plugin,
    clock,
  });
}
