import type { NatsConnection, Subscription } from "@nats-io/nats-core";
import type { Logger } from "../deps.ts";
import { ErrorCode } from "../errors.ts";
import { controlSubject, encodeWireError } from "../bus/mod.ts";
import type { Plugin } from "../plugin/mod.ts";
import { diffConfig } from "../diff.ts";
import type { Dispatcher } from "./dispatch.ts";
import { parsePluginOptions } from "./plugin_options.ts";

const decoder = new TextDecoder();
const encoder = new TextEncoder();

/**
 * Checks `raw` against the plugin's options schema and, when it passes, makes it the options of
 * every request from now on (running handlers keep the options they started with).
 * @returns the dotted paths that changed.
 * @throws {TypeError} naming each problem by dotted path; the options in force stay.
 */
export function replaceOptions(plugin: Plugin, dispatcher: Dispatcher, raw: unknown): string[] {
  const next = parsePluginOptions(plugin, raw);
  const changed = diffConfig(dispatcher.options, next);
  dispatcher.options = next;
  return changed;
}

/**
 * Serves `<prefix>.$ctl.<plugin>.<instanceId>.*`: `options` takes a JSON body of new plugin options and
 * answers `{"ok":true,"changed":[…],"options":{…}}` (the options now in force, defaults applied and
 * keys the schema does not know dropped), or a 422 `validation_failed` error reply.
 */
export function serveControl(
  nc: NatsConnection,
  options: { prefix: string; instanceId: string; plugin: Plugin; dispatcher: Dispatcher; logger: Logger },
): Subscription {
  const { plugin, dispatcher, logger } = options;
  return nc.subscribe(controlSubject(options.prefix, plugin.name, options.instanceId, "*"), {
    callback: (err, msg) => {
      if (err !== null) {
        // Denied by NATS permissions: the instance serves on; new options reach it at its next start.
        logger.warn("the control subject is not available: options apply at the next start", { error: err.message });
        return;
      }
      const verb = msg.subject.slice(msg.subject.lastIndexOf(".") + 1);
      const fail = (status: number, code: string, message: string) => {
        const { headers, data } = encodeWireError({ status, code, message });
        msg.respond(data, { headers });
      };
      if (verb !== "options") return fail(404, ErrorCode.NotFound, `No control verb "${verb.slice(0, 32)}"`);
      let raw: unknown;
      try {
        raw = msg.data.length === 0 ? {} : JSON.parse(decoder.decode(msg.data));
      } catch {
        return fail(400, ErrorCode.InvalidJson, "The options are not valid JSON");
      }
      try {
        const changed = replaceOptions(plugin, dispatcher, raw);
        logger.info("options replaced", { changed });
        msg.respond(encoder.encode(JSON.stringify({ ok: true, changed, options: dispatcher.options })));
      } catch (err) {
        logger.warn("options rejected: keeping the current ones", { error: (err as Error).message });
        fail(422, ErrorCode.ValidationFailed, (err as Error).message);
      }
    },
  });
}
