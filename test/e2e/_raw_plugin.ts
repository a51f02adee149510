/**
 * A plugin instance written against docs/protocol.md with nats.js alone (no Switchyard host), with
 * knobs that break one rule each: the conformance checker and discovery are tested against it.
 * Strings are spelled out here as the document spells them, not taken from src/bus/.
 */
import { connect } from "@nats-io/transport-node";
import { headers } from "@nats-io/nats-core";
import type { Msg, NatsConnection, Subscription } from "@nats-io/nats-core";

/** Each knob breaks one part of the protocol; none set: a conforming instance. */
export interface RawPluginOptions {
  name?: string;
  id?: string;
  version?: string;
  prefix?: string;
  /** Replaces service metadata entries (`undefined` removes one). */
  metadata?: Record<string, unknown>;
  /** Replaces endpoint metadata entries of every endpoint (`undefined` removes one). */
  endpointMetadata?: Record<string, unknown>;
  /** Leaves `sy-instance` out of replies. */
  omitInstanceHeader?: boolean;
  /** Leaves `health` out of STATS. */
  omitHealth?: boolean;
  /** Subscribes to the version subject without a queue group. */
  noQueueGroup?: boolean;
  /** On stop, leaves the instance subject together with the queue group, right after announcing draining. */
  dropInstanceSubjectAtDrain?: boolean;
  /** Also answers as a second, misnamed service on `$SRV.PING` (a hint the router must ignore, with a warning). */
  misnamedPing?: { name: string; id: string };
  /** Leaves the first this many asks on `$SRV.PING.<name>` unanswered (an instance too busy to answer in time). */
  ignoreNamePings?: number;
  /** Takes no input in chunks: `sy-bytes` is ignored, the first chunk taken for the whole input. */
  noInputChunks?: boolean;
}

/** A running raw instance. */
export interface RawPlugin extends AsyncDisposable {
  readonly id: string;
  readonly nc: NatsConnection;
  /** Announces draining, leaves the queue group, then the instance subject, announces stopped, closes. */
  stop(): Promise<void>;
}

const SCHEMA_IN = { type: "object", properties: { name: { type: "string", minLength: 1 } }, required: ["name"] };
const SCHEMA_OUT = { type: "object", properties: { message: { type: "string" } }, required: ["message"] };

/** Starts a raw instance of a one-method plugin (`greet {name} → {message}`) on `natsUrl`. */
export async function startRawPlugin(natsUrl: string, options: RawPluginOptions = {}): Promise<RawPlugin> {
  const name = options.name ?? "rawhello";
  const id = options.id ?? `raw${Math.random().toString(36).slice(2, 10)}`;
  const version = options.version ?? "1.0.0";
  const prefix = options.prefix ?? "sy";
  const vtoken = version.replaceAll(".", "_").replaceAll("+", "~");
  const nc = await connect({ servers: natsUrl, name: `raw-${name}` });
  const metadata = withOverrides({ "sy.protocol": "1", "sy.prefix": prefix, "sy.instance_subject": `${prefix}.$i.${name}.${id}`, "sy.runtime": "raw", "sy.host": "test" }, options.metadata);
  const endpoint = {
    name: "greet",
    subject: `${prefix}.${name}.${vtoken}.greet`,
    queue_group: `${name}@${version}`,
    metadata: withOverrides({ "sy.input_schema": JSON.stringify(SCHEMA_IN), "sy.output_schema": JSON.stringify(SCHEMA_OUT), "sy.idempotent": "true" }, options.endpointMetadata),
  };
  const identity = { name, id, version, metadata };
  const info = { type: "io.nats.micro.v1.info_response", ...identity, description: "A raw test plugin", endpoints: [endpoint] };
  const started = new Date().toISOString();
  let requests = 0;

  const reply = (msg: Msg, body: unknown, error?: { status: number; code: string; message: string; issues?: unknown[] }) => {
    const h = headers();
    if (!options.omitInstanceHeader) h.set("sy-instance", id);
    h.set("sy-version", version);
    if (error !== undefined) {
      h.set("Nats-Service-Error-Code", String(error.status));
      h.set("Nats-Service-Error", error.message);
      h.set("sy-error-code", error.code);
      body = { error: { code: error.code, message: error.message, ...(error.issues ? { issues: error.issues } : {}) } };
    }
    msg.respond(JSON.stringify(body), { headers: h });
  };
  // Inputs in chunks ("An input in chunks"): the chunks so far of each session, by session id.
  const uploads = new Map<string, { total: number | undefined; chunks: Uint8Array[]; size: number; seq: number }>();
  const ack = (msg: Msg, session: string, seq: number) => {
    const h = headers();
    h.set("sy-instance", id);
    h.set("sy-version", version);
    h.set("sy-stream", session);
    h.set("sy-seq", String(seq));
    msg.respond(new Uint8Array(0), { headers: h });
  };
  const takeChunk = (msg: Msg, session: string) => {
    const upload = uploads.get(session);
    if (upload === undefined) return reply(msg, undefined, { status: 504, code: "timeout", message: "No such session" });
    const seq = Number(msg.headers?.get("sy-seq"));
    if (seq !== upload.seq + 1) {
      uploads.delete(session);
      return reply(msg, undefined, { status: 400, code: "invalid_request", message: `Chunk ${upload.seq + 1} of the input was due` });
    }
    upload.seq = seq;
    upload.chunks.push(msg.data);
    upload.size += msg.data.length;
    const last = upload.total === undefined ? msg.headers?.get("sy-end") === "1" : upload.size >= upload.total;
    if (!last) return ack(msg, session, seq);
    uploads.delete(session);
    const data = new Uint8Array(upload.size);
    let at = 0;
    for (const chunk of upload.chunks) {
      data.set(chunk, at);
      at += chunk.length;
    }
    serveInput(msg, data);
  };
  const serve = (msg: Msg) => {
    requests++;
    const method = msg.subject.slice(msg.subject.lastIndexOf(".") + 1);
    if (method !== "greet") return reply(msg, undefined, { status: 404, code: "method_not_found", message: `No method "${method}"` });
    const bytes = msg.headers?.get("sy-bytes") ?? "";
    if (bytes !== "" && !options.noInputChunks) {
      const session = `up${Math.random().toString(36).slice(2, 10)}`;
      uploads.set(session, { total: bytes === "*" ? undefined : Number(bytes), chunks: [msg.data], size: msg.data.length, seq: 0 });
      return ack(msg, session, 0);
    }
    serveInput(msg, msg.data);
  };
  const serveInput = (msg: Msg, data: Uint8Array) => {
    let input: unknown;
    try {
      input = data.length === 0 ? {} : JSON.parse(new TextDecoder().decode(data));
    } catch {
      return reply(msg, undefined, { status: 400, code: "invalid_json", message: "The input is not valid JSON" });
    }
    const given = (input as { name?: unknown } | null)?.name;
    if (typeof input !== "object" || input === null || Array.isArray(input) || typeof given !== "string" || given === "") {
      return reply(msg, undefined, { status: 422, code: "validation_failed", message: "The input does not match the method's schema", issues: [{ path: "name", message: "Expected a non-empty string" }] });
    }
    reply(msg, { message: `Hello, ${given}` });
  };

  const subs: Subscription[] = [];
  const queueSub = nc.subscribe(`${prefix}.${name}.${vtoken}.*`, { ...(options.noQueueGroup ? {} : { queue: `${name}@${version}` }), callback: (_e, m) => serve(m) });
  let lastOwnAt = 0;
  const ownSub = nc.subscribe(`${prefix}.$i.${name}.${id}.*`, {
    callback: (_e, m) => {
      lastOwnAt = Date.now();
      serve(m);
    },
  });
  subs.push(nc.subscribe(`${prefix}.$i.${name}.${id}.$s.*`, { callback: (_e, m) => takeChunk(m, m.subject.slice(m.subject.lastIndexOf(".") + 1)) }));
  const stats = () => ({
    type: "io.nats.micro.v1.stats_response",
    ...identity,
    started,
    endpoints: [{ name: "greet", subject: endpoint.subject, queue_group: endpoint.queue_group, num_requests: requests, num_errors: 0, last_error: "", processing_time: 0, average_processing_time: 0, data: {} }],
    ...(options.omitHealth ? {} : { health: { status: "ok" } }),
  });
  const answers: Record<string, () => unknown> = {
    PING: () => ({ type: "io.nats.micro.v1.ping_response", ...identity }),
    INFO: () => info,
    STATS: stats,
  };
  let namePings = 0;
  for (const [verb, answer] of Object.entries(answers)) {
    for (const subject of [`$SRV.${verb}`, `$SRV.${verb}.${name}`, `$SRV.${verb}.${name}.${id}`]) {
      subs.push(nc.subscribe(subject, {
        callback: (_e, m) => {
          if (subject === `$SRV.PING.${name}` && ++namePings <= (options.ignoreNamePings ?? 0)) return;
          m.respond(JSON.stringify(answer()));
        },
      }));
    }
  }
  const misnamed = options.misnamedPing;
  if (misnamed !== undefined) {
    const ping = { type: "io.nats.micro.v1.ping_response", name: misnamed.name, id: misnamed.id, version, metadata: { "sy.protocol": "1" } };
    subs.push(nc.subscribe("$SRV.PING", { callback: (_e, m) => void m.respond(JSON.stringify(ping)) }));
  }
  const announce = (type: string) => nc.publish(`${prefix}.$events.${name}`, JSON.stringify({ type, info }));
  await nc.flush();
  announce("started");
  // Out before this returns: a checker that starts listening afterwards must not see it.
  await nc.flush();

  let stopping: Promise<void> | undefined;
  const stop = () =>
    stopping ??= (async () => {
      announce("draining");
      if (options.dropInstanceSubjectAtDrain) ownSub.unsubscribe();
      await queueSub.drain();
      // The instance subject stays until no request came on it for 200 ms.
      lastOwnAt = Math.max(lastOwnAt, Date.now());
      while (Date.now() - lastOwnAt < 200) await new Promise((resolve) => setTimeout(resolve, 200 - (Date.now() - lastOwnAt)));
      if (!ownSub.isClosed()) await ownSub.drain();
      for (const sub of subs) sub.unsubscribe();
      announce("stopped");
      await nc.drain();
    })();
  return { id, nc, stop, [Symbol.asyncDispose]: stop };
}

function withOverrides(base: Record<string, string>, overrides: Record<string, unknown> | undefined): Record<string, string> {
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(overrides ?? {})) {
    if (value === undefined) delete out[key];
    else out[key] = value;
  }
  return out as Record<string, string>;
}
