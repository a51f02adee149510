/**
 * The rules `switchyard conformance` checks, each tied to the section of docs/protocol.md that
 * states it. Ids are stable: scripts and tests match on them.
 * @module
 */

/** One rule of the protocol as the checker sees it. */
export interface Rule {
  /** The heading anchor in docs/protocol.md. */
  readonly section: string;
  /** A required rule that fails makes the instance non-conforming (exit 1); an optional one only warns. */
  readonly required: boolean;
  /** What the rule asks for, in one line. */
  readonly title: string;
}

/** The document the sections belong to. */
export const PROTOCOL_DOC = "docs/protocol.md";

const rule = (section: string, title: string, required = true): Rule => ({ section, required, title });

/** Every rule, in the order of the report. */
export const RULES = {
  "instance.found": rule("discovery", "an instance of the plugin answers $SRV.PING.<plugin>[.<id>]"),
  "srv.ping": rule("ping", "PING answers an io.nats.micro.v1.ping_response"),
  "srv.info": rule("info", "INFO answers an io.nats.micro.v1.info_response"),
  "srv.stats": rule("stats", "STATS answers an io.nats.micro.v1.stats_response"),
  "srv.subjects": rule("discovery", "each verb is answered on $SRV.<verb>, $SRV.<verb>.<plugin> and $SRV.<verb>.<plugin>.<id>"),
  "srv.identity": rule("discovery", "PING, INFO and STATS give the name, id and version asked for"),
  "stats.endpoints": rule("stats", "STATS has an entry for each INFO endpoint, with its subject and queue group"),
  "stats.health": rule("health", 'STATS carries health {"status": "ok"|"degraded"|"unhealthy", "detail"?}'),
  "meta.protocol": rule("protocol-version", 'sy.protocol is a protocol version routers speak ("1")'),
  "meta.names": rule("names-and-subjects", "the plugin name, instance id and version match their grammars"),
  "meta.prefix": rule("metadata", "sy.prefix, when present, is the subject prefix in use"),
  "meta.instance_subject": rule("metadata", "sy.instance_subject, when present, is <prefix>.$i.<plugin>.<id>"),
  "meta.endpoints": rule("info", "each endpoint is a method with subject <prefix>.<plugin>.<vtoken>.<method> and queue group <plugin>@<version>"),
  "meta.schemas": rule("metadata", "each endpoint has sy.input_schema and sy.output_schema, the JSON text of a JSON Schema object"),
  "meta.values": rule("metadata", "optional metadata, when present, is well-formed (nothing a router would ignore)"),
  "meta.admitted": rule("proof-of-identity", "a router admits the instance from the INFO it answered on its own subject"),
  "request.version_subject": rule("names-and-subjects", "a request on <prefix>.<plugin>.<vtoken>.<method> is answered"),
  "request.instance_subject": rule("names-and-subjects", "a request on <prefix>.$i.<plugin>.<id>.<method> is answered by this instance"),
  "request.queue_group": rule("names-and-subjects", "a request on the version subject gets one reply: instances share queue group <plugin>@<version>"),
  "reply.headers": rule("replies", "every reply carries sy-instance (the instance id) and sy-version (its version)"),
  "reply.success": rule("replies", "a success reply is JSON that matches the method's output schema, without error headers"),
  "errors.format": rule("errors", "error replies carry Nats-Service-Error-Code, Nats-Service-Error, sy-error-code and a JSON body that agree"),
  "errors.invalid_json": rule("errors", "a payload that is not JSON gets 400 invalid_json"),
  "errors.validation": rule("errors", "an input that fails the declared input schema gets 422 validation_failed with issues"),
  "errors.method_not_found": rule("errors", "a method the instance does not have gets 404 method_not_found on its instance subject", false),
  "input.chunks": rule("an-input-in-chunks", "an input in chunks (sy-bytes: <size>) is acknowledged chunk by chunk and answered after its last chunk", false),
  "input.unsized": rule("an-input-in-chunks", "an input of unknown size (sy-bytes: *) is taken until the chunk marked sy-end", false),
  "events.started": rule("events", "started is announced on <prefix>.$events.<plugin> once the instance serves"),
  "events.format": rule("events", "events about the instance are {type, info} on <prefix>.$events.<plugin>, info its INFO"),
  "drain.draining": rule("draining", "on SIGTERM, draining is announced first"),
  "drain.instance_subject": rule("draining", "once draining is announced, the instance subject still answers"),
  "drain.queue_group": rule("draining", "once draining is announced, the version subject no longer reaches the instance"),
  "drain.stopped": rule("draining", "stopped is announced after draining"),
  "drain.gone": rule("draining", "after stopped, nothing answers on the instance subject or its $SRV subjects"),
} as const satisfies Record<string, Rule>;

/** A rule id. */
export type RuleId = keyof typeof RULES;
