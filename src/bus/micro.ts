/**
 * The NATS micro discovery protocol (`$SRV.PING|INFO|STATS`), as Switchyard instances answer it,
 * and the one collector of its replies that the router, `ctx.call` and the CLI share.
 * @module
 */
import type { NatsConnection } from "@nats-io/nats-core";

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
/** The region the instance runs in (`region` config, `SWITCHYARD_REGION`); routers prefer their own. */
export const META_REGION = "sy.region";
/** Balancer weight of this instance (a positive number; default 1). */
export const META_WEIGHT = "sy.weight";
/** The plugin's manifest requirements, as JSON (`{"hello":"^1"}`). */
export const META_REQUIRES = "sy.requires";
/** Endpoint metadata keys. */
export const META_INPUT_SCHEMA = "sy.input_schema";
export const META_OUTPUT_SCHEMA = "sy.output_schema";
export const META_IDEMPOTENT = "sy.idempotent";
export const META_DESCRIPTION = "sy.description";
/** `"true"`: the method answers a stream of items (docs/protocol.md, "Streams"). */
export const META_STREAM = "sy.stream";

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
  /**
   * Extra statistics of the endpoint; `{}` when there are none. The micro schema leaves it
   * optional, but strict clients (nats-py's `ServiceStats.from_dict`) read it unconditionally.
   */
  data: Record<string, unknown>;
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
  type: "started" | "draining" | "health" | "stopped" | "lost";
  info: InfoResponse;
  /** With `health`: its `health()` answer now (it changed). */
  health?: StatsResponse["health"];
}

/** How long {@linkcode collectMicro} listens. */
export interface CollectOptions {
  /** Stop this long after the last reply. @default 150 */
  stallMs?: number;
  /** Stop after this long in any case. @default 1000 */
  maxWaitMs?: number;
  /** Told of each reply that is a JSON object as it comes, before the list is complete. */
  onReply?: (reply: Record<string, unknown>) => void;
}

const decoder = new TextDecoder();

/**
 * Asks `$SRV.<verb>` (of one service name, or one instance, when given) and returns every reply
 * that is a JSON object. The replies are claims of whoever answered: `$SRV.<verb>` without a name
 * reaches every service, so a caller that acts on one checks it first (see docs/protocol.md).
 */
export async function collectMicro(
  nc: NatsConnection,
  verb: MicroVerb,
  target: { name?: string; id?: string } = {},
  options: CollectOptions = {},
): Promise<Record<string, unknown>[]> {
  let subject = `${SRV_PREFIX}.${verb}`;
  if (target.name !== undefined) subject += `.${target.name}`;
  if (target.name !== undefined && target.id !== undefined) subject += `.${target.id}`;
  const found: Record<string, unknown>[] = [];
  try {
    const replies = await nc.requestMany(subject, undefined, {
      strategy: "stall",
      stall: options.stallMs ?? 150,
      maxWait: options.maxWaitMs ?? 1_000,
    });
    for await (const msg of replies) {
      try {
        const value = JSON.parse(decoder.decode(msg.data)) as unknown;
        if (typeof value === "object" && value !== null && !Array.isArray(value)) {
          found.push(value as Record<string, unknown>);
          options.onReply?.(value as Record<string, unknown>);
        }
      } catch {
        // not a JSON reply: not a micro service, or not ours to read
      }
    }
  } catch {
    // no responders, or the connection closed: nothing answered
  }
  return found;
}
