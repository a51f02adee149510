import { ErrorCode, SwitchyardError } from "../errors.ts";
import { H_INSTANCE, INSTANCE_ID, instanceSubjectBase, STREAM_ID, streamSubject } from "../bus/mod.ts";
import type { BusReply } from "../bus/mod.ts";

/**
 * Where the rest of a session is pulled from: the session subject under the instance subjects of
 * `plugin`'s instance that sent `reply`. Built from names that pass their grammars, under the
 * plugin's own namespace (`<prefix>.$i.<plugin>.`), never from a subject the instance names.
 * @throws {SwitchyardError} `bad_plugin_response` for a reply whose instance or session id is malformed.
 */
export function sessionSubject(prefix: string, plugin: string, reply: BusReply): string {
  const instance = reply.headers?.get(H_INSTANCE) ?? "";
  if (!INSTANCE_ID.test(instance) || !STREAM_ID.test(reply.stream)) {
    throw new SwitchyardError(ErrorCode.BadPluginResponse, "The plugin named no valid instance or stream for the rest of its reply");
  }
  return streamSubject(instanceSubjectBase(prefix, plugin, instance), reply.stream);
}
