import type { MsgHdrs } from "@nats-io/nats-core";
import { ErrorCode, SwitchyardError } from "../errors.ts";
import type { Clock } from "../deps.ts";
import { H_BYTES, H_CHUNKS, H_INSTANCE } from "./headers.ts";
import type { BusReply, RequestMux } from "./request_mux.ts";
import { INSTANCE_ID, instanceSubjectBase, STREAM_ID, streamSubject } from "./subjects.ts";
import { isLastMessage, StreamPull } from "./stream_pull.ts";
import { collectChunks } from "./chunks.ts";

/**
 * Where the rest of a session is pulled from: the session subject under the instance subjects of
 * `plugin`'s instance that sent `reply`. Built from names that pass their grammars, under the
 * plugin's own namespace (`<prefix>.$i.<plugin>.`), never from a subject the instance names.
 * @throws {SwitchyardError} `bad_plugin_response` for a reply whose instance or session id is malformed.
 */
export function sessionSubject(prefix: string, plugin: string, reply: BusReply): string {
  const instance = reply.headers?.get(H_INSTANCE) ?? "";
  if (!INSTANCE_ID.test(instance) || !STREAM_ID.test(reply.stream)) {
    throw new SwitchyardError(
      ErrorCode.BadPluginResponse,
      "The plugin named no valid instance or stream for the rest of its reply",
    );
  }
  return streamSubject(instanceSubjectBase(prefix, plugin, instance), reply.stream);
}

/** Options of {@linkcode requestMessages}. */
export interface RequestMessagesOptions {
  /** Sent with the request; `sy-chunks: 1` is added. */
  headers: MsgHdrs;
  /** The subject prefix and the plugin called: where the session subject is. */
  prefix: string;
  plugin: string;
  timeoutMs: number;
  clock: Clock;
  /** A reply in chunks may be at most this large. @default 64 MiB */
  maxReplyBytes?: number;
}

/**
 * One request to a plugin method without the pipeline (tools, test harnesses): yields its answer's
 * messages as they come, pulled with a window of 8: one whole reply (a reply in chunks comes
 * whole), or each message of a stream. Leaving the loop early cancels the stream.
 * @throws what {@linkcode RequestMux.request} and {@linkcode StreamPull.next} throw.
 */
export async function* requestMessages(
  mux: RequestMux,
  subject: string,
  data: Uint8Array,
  options: RequestMessagesOptions,
): AsyncGenerator<BusReply, void, undefined> {
  const { clock, prefix, plugin } = options;
  const deadline = clock.now() + options.timeoutMs;
  options.headers.set(H_CHUNKS, "1");
  const first = await mux.request(subject, data, { headers: options.headers, timeoutMs: options.timeoutMs });
  if (first.stream === "" || first.status !== 0 || isLastMessage(first)) {
    yield first;
    return;
  }
  const rest = { subject: sessionSubject(prefix, plugin, first), deadline, clock };
  if (first.headers?.get(H_BYTES) !== "") {
    yield await collectChunks(mux, first, { ...rest, limit: options.maxReplyBytes ?? 64 * 1024 * 1024 });
    return;
  }
  const pull = new StreamPull(mux, first, { ...rest, window: 8, idleMs: 0 });
  try {
    for (let reply: BusReply | undefined = first; reply !== undefined; reply = await pull.next()) yield reply;
  } finally {
    if (!pull.done) pull.cancel("the caller stopped reading");
  }
}
