import { collectChunks, H_BYTES, needsChunks, requestInChunks, sessionSubject } from "../bus/mod.ts";
import type { BusReply } from "../bus/mod.ts";
import type { Call, SendContext } from "./types.ts";

/** A reply in chunks is refused above this unless the call says otherwise (`Call.maxReplyBytes`). */
export const DEFAULT_MAX_REPLY_BYTES = 64 * 1024 * 1024;

/**
 * One attempt's exchange with an instance: the request (its input in chunks when it does not fit
 * one message), and the reply, pulled whole when it comes in chunks. A stream's first message is
 * returned as is: its rest is the caller's to pull. On the common path this is one
 * `mux.request()` and two comparisons.
 */
export async function exchange(pipeline: SendContext, target: { plugin: string; subject: string }, call: Call, timeoutMs: number): Promise<BusReply> {
  const { mux, clock, registry } = pipeline;
  const { plugin, subject } = target;
  let reply = needsChunks(call.data, call.headers, mux.maxPayload)
    ? await requestInChunks(mux, { subject, data: call.data, headers: call.headers }, {
      timeoutMs,
      tag: plugin,
      clock,
      session: (ack) => sessionSubject(registry.prefix, plugin, ack),
    })
    : await mux.request(subject, call.data, { headers: call.headers, timeoutMs, tag: plugin });
  if (reply.stream !== "" && reply.status === 0 && (call.stream !== true || reply.headers?.get(H_BYTES) !== "")) {
    reply = await collectChunks(mux, reply, {
      subject: sessionSubject(registry.prefix, plugin, reply),
      limit: call.maxReplyBytes ?? DEFAULT_MAX_REPLY_BYTES,
      deadline: call.deadline,
      tag: plugin,
      clock,
    });
  }
  return reply;
}
