/**
 * The NATS micro discovery protocol (`$SRV.PING|INFO|STATS`), as Switchyard instances answer it.
 * @module
 */

export const SRV_PREFIX = "$SRV";
export type MicroVerb = "PING" | "INFO" | "STATS";

export const PING_RESPONSE = "io.nats.micro.v1.ping_response";
export const INFO_RESPONSE = "io.nats.micro.v1.info_response";
export const STATS_RESPONSE = "io.nats.micro.v1.stats_response";

/** Metadata keys Switchyard adds to a service's INFO. */
export const META_PROTOCOL = "sy.protocol";
export const META_RUNTIME = "sy.runtime";
export const META_HOST = "sy.host";
export const META_PREFIX = "sy.prefix";
export const META_INSTANCE_SUBJECT = "sy.instance_subject";
/** Balancer weight of this instance (a positive number; default 1). */
export const META_WEIGHT = "sy.weight";
/** The plugin's manifest requirements, as JSON (`{"hello":"^1"}`). */
export const META_REQUIRES = "sy.requires";
/** Endpoint metadata keys. */
export const META_INPUT_SCHEMA = "sy.input_schema";
export const META_OUTPUT_SCHEMA = "sy.output_schema";
export const META_IDEMPOTENT = "sy.idempotent";
export const META_DESCRIPTION = "sy.description";

export const PROTOCOL_VERSION = "1";

/** The three subjects one verb is answered on: all services, by name, by name and id. */
export function microSubjects(verb: MicroVerb, name: string, id: string): string[] {
  return [`${SRV_PREFIX}.${verb}`, `${SRV_PREFIX}.${verb}.${name}`, `${SRV_PREFIX}.${verb}.${name}.${id}`];
}

export interface EndpointInfo {
  name: string;
  subject: string;
  queue_group: string;
  metadata: Record<string, string>;
}

export interface ServiceIdentity {
  name: string;
  id: string;
  version: string;
  metadata: Record<string, string>;
}

export interface InfoResponse extends ServiceIdentity {
  type: typeof INFO_RESPONSE;
  description: string;
  endpoints: EndpointInfo[];
}

export interface EndpointStats {
  name: string;
  subject: string;
  queue_group: string;
  num_requests: number;
  num_errors: number;
  last_error: string;
  /** Nanoseconds. */
  processing_time: number;
  /** Nanoseconds. */
  average_processing_time: number;
}

export interface StatsResponse extends ServiceIdentity {
  type: typeof STATS_RESPONSE;
  started: string;
  endpoints: EndpointStats[];
  /** Switchyard extension: the plugin's `health()` answer (other micro clients ignore it). */
  health?: { status: "ok" | "degraded" | "unhealthy"; detail?: string };
}

/**
 * An announcement on `<prefix>.$events.<plugin>`: by the instance itself (`started`, `draining`,
 * `stopped`), or by its supervisor when it died without draining (`lost`; `info` then carries at
 * least `name` and `id`).
 */
export interface InstanceEvent {
  type: "started" | "draining" | "stopped" | "lost";
  info: InfoResponse;
}
