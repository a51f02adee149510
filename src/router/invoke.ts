import type { Context } from "hono";
import { codeOf, ErrorCode, SwitchyardError } from "../errors.ts";
import type { Logger } from "../deps.ts";
import { H_BYTES, H_CHUNKS, H_DEADLINE, H_IDLE, H_INSTANCE, H_PRINCIPAL, H_REQUEST_ID, H_VERSION, WireHeaders, wireErrorOf } from "../bus/mod.ts";
import type { BusReply } from "../bus/mod.ts";
import type { Authenticated, PeerInfo, RouterAuth } from "../auth/mod.ts";
import { methodNotFound, pluginNotFound, StreamCall } from "../pipeline/mod.ts";
import type { RequestPipeline, Target } from "../pipeline/mod.ts";
import type { MethodEntry } from "../registry/mod.ts";
import { RouterTelemetry } from "../telemetry/mod.ts";
import type { MethodSeries, StreamMeter } from "../telemetry/mod.ts";
import { checkJsonType, ReadDeadlines, readBody, streamedLength, UNSIZED_BODY } from "./read_body.ts";
import { RequestBodySource } from "./request_body_source.ts";
import { BODY_WINDOW, bodyResponse } from "./body_response.ts";
import { initHeadersResponse } from "../runtime/types.ts";
import type { ResponseFactory } from "../runtime/types.ts";
import { errorResponse } from "./error_response.ts";
import type { RouterSettings } from "./options.ts";
import type { RouterLifecycle } from "./router_lifecycle.ts";
import { ActiveStreams } from "./active_streams.ts";
import { streamResponse } from "./stream_response.ts";

export interface InvokeOptions {
  pipeline: RequestPipeline;
  /** The router's own settings, read per request (a reload replaces them). */
  settings: () => RouterSettings;
  logger: Logger;
  requestId: (incoming: string | null) => string;
  /** Builds the 200 responses. @default headers in the init */
  respond?: ResponseFactory;
  /** Metrics, traces and access log (src/telemetry/). @default none: a scratch series, no spans */
  telemetry?: RouterTelemetry;
  /** Authentication and grants; without it every caller is anonymous and may call everything. */
  auth?: RouterAuth | undefined;
  /** Counts streams in flight until their last byte and lets drains end them. @default none (not counted) */
  lifecycle?: RouterLifecycle | undefined;
}

/** Whose rate-limit bucket a request takes from without auth. */
const ANONYMOUS_PRINCIPAL = "anonymous";
/** Requests with this header may be retried even when the method is not idempotent. */
const IDEMPOTENCY_KEY = "idempotency-key";
const FALLBACK_HEADERS = { "content-type": "application/json", "x-fallback": "circuit_open" };

/**
 * `POST /v1/:plugin/:method`: HTTP in, the request pipeline's steps (resolve, admit, send), HTTP
 * out. The body is read and validated between admission and sending, so a refused caller costs no
 * read; the original bytes go over NATS and the plugin's reply bytes come back untouched.
 */
export function createInvokeHandler(options: InvokeOptions): (c: Context) => Promise<Response> {
  const { pipeline, logger, auth, lifecycle } = options;
  const deadlines = new ReadDeadlines();
  const clock = pipeline.clock;
  const respond = options.respond ?? initHeadersResponse;
  const telemetry = options.telemetry ?? new RouterTelemetry({ logger });

  return async function invoke(c: Context): Promise<Response> {
    const started = performance.now();
    const req = c.req.raw;
    const requestId = options.requestId(req.headers.get("x-request-id"));
    const trace = telemetry.begin(req, requestId);
    const plugin = c.req.param("plugin") ?? "";
    let series: MethodSeries | undefined;
    let code = "";
    let res: Response;
    let source: RequestBodySource | undefined;
    try {
      // Before anything else, the body above all: an unknown caller costs no read and learns nothing.
      let who: Authenticated | undefined;
      if (auth !== undefined) {
        const found = auth.authenticate(req, c.env as PeerInfo | undefined);
        who = found instanceof Promise ? await found : found;
      }
      // A plugin or method the caller may not call answers exactly as one that does not exist.
      if (who !== undefined && !auth!.maySee(who, plugin)) throw pluginNotFound(plugin);
      const resolved = pipeline.resolveArriving(plugin, c.req.param("method") ?? "", req.headers.get("x-plugin-version") ?? undefined);
      const target = resolved instanceof Promise ? await resolved : resolved;
      if (who !== undefined && !auth!.mayCall(who, plugin, target.method.name)) throw methodNotFound(plugin, target.method.name);
      series = telemetry.enter(target, trace);
      pipeline.admit(target, who === undefined ? ANONYMOUS_PRINCIPAL : who.principal.id);
      const settings = options.settings();
      // A body too large for one bus message streams to the plugin as it arrives, unchecked here
      // (it is never whole here); the plugin checks its input as it always does.
      const size = target.method.stream ? undefined : streamedLength(req, settings.bodyLimitBytes, pipeline.mux.maxPayload);
      let body: Uint8Array = EMPTY;
      if (size === undefined) {
        body = await readBody(req, settings.bodyLimitBytes, deadlines, settings.requestTimeoutMs);
        checkInput(target.method, body);
      } else {
        source = new RequestBodySource(req, size === UNSIZED_BODY ? undefined : size, deadlines, settings.requestTimeoutMs, settings.bodyLimitBytes);
        // Without a length, a body that fits in one message takes the usual path after all.
        const whole = source.size === undefined ? await source.readWhole(pipeline.mux.maxPayload) : undefined;
        if (whole !== undefined) {
          source = undefined;
          body = whole;
          if (body.length > 0) checkJsonType(req);
          checkInput(target.method, body);
        } else checkJsonType(req);
      }
      const idempotencyKey = req.headers.get(IDEMPOTENCY_KEY);
      // A streamed body is read while the call runs: it gets the read's time on top, as a body read whole has.
      const deadline = clock.now() + (target.method.stream ? target.policies.streamTimeoutMs : target.policies.timeoutMs) +
        (source === undefined ? 0 : settings.requestTimeoutMs);
      const headers = new WireHeaders();
      headers.set(H_REQUEST_ID, requestId);
      headers.set(H_DEADLINE, String(deadline));
      if (who !== undefined) headers.set(H_PRINCIPAL, who.header);
      if (idempotencyKey !== null) headers.set(IDEMPOTENCY_KEY, idempotencyKey);
      headers.set(H_CHUNKS, "1");
      const call = {
        data: body,
        headers,
        deadline,
        // A streamed body cannot be sent twice.
        mayRetry: source === undefined && (target.method.idempotent || idempotencyKey !== null),
        observer: trace ?? series.plugin,
        maxReplyBytes: settings.bodyLimitBytes,
        body: source,
        pullReply: true,
      };
      if (target.method.stream) {
        headers.set(H_IDLE, String(target.policies.streamIdleMs));
        const opened = await pipeline.openStream(target, call, { idleMs: target.policies.streamIdleMs });
        code = opened.first.code;
        res = opened.first.status !== 0 || opened.first.fallback
          ? toResponse(opened.first, target, requestId, respond, logger)
          : respondStreaming(c, opened, { target, requestId, lifecycle, logger, meter: telemetry.stream(series, trace, started) });
      } else {
        const reply = await pipeline.send(target, call);
        code = reply.code;
        res = reply.stream !== "" && reply.status === 0
          ? respondInChunks(reply, target, deadline, { requestId, lifecycle, logger, pipeline, series })
          : toResponse(reply, target, requestId, respond, logger);
      }
    } catch (err) {
      code = codeOf(err);
      res = errorResponse(err, requestId, trace === undefined ? logger : logger.child({ traceId: trace.span.spanContext().traceId }));
    }
    // Answered before a streamed body was all read (an error, the instance died, a timeout): the rest is dropped.
    if (source !== undefined && !source.complete) {
      source.cancel();
      if (res.status >= 400) res.headers.set("connection", "close");
    }
    series ??= telemetry.unrouted(plugin, pipeline.registry.get(plugin) !== undefined);
    telemetry.finish(series, res, code, started, trace, requestId);
    return res;
  };
}

const decoder = new TextDecoder();
const EMPTY = new Uint8Array(0);

/** Parses and validates the body at the edge, so a bad input never reaches a plugin. */
function checkInput(method: MethodEntry, body: Uint8Array): void {
  let input: unknown = {};
  if (body.length > 0) {
    try {
      input = JSON.parse(decoder.decode(body));
    } catch {
      throw new SwitchyardError(ErrorCode.InvalidJson, "The body is not valid JSON");
    }
  }
  const issues = method.validate(input);
  if (issues !== undefined) {
    throw new SwitchyardError(ErrorCode.ValidationFailed, "The body does not match the method's input schema", { issues });
  }
}

/**
 * A stream's HTTP response, written as its items come (see {@linkcode streamResponse}); NDJSON, or
 * SSE for `Accept: text/event-stream`. It counts in flight until its last byte: the tracker takes
 * it once more here, and lets go when the stream is over (the wrapper's own count ends when this returns).
 */
function respondStreaming(
  c: Context,
  call: StreamCall,
  parts: { target: Target; requestId: string; lifecycle: RouterLifecycle | undefined; logger: Logger; meter: StreamMeter },
): Response {
  const { target, requestId, lifecycle, logger, meter } = parts;
  const h = call.first.headers;
  const traffic = lifecycle?.tracker.traffic(target.plugin);
  if (traffic !== undefined) lifecycle!.tracker.enter(traffic);
  const accept = c.req.header("accept") ?? "";
  return streamResponse(c, call, {
    requestId,
    plugin: target.plugin,
    headers: { "x-request-id": requestId, "x-plugin-version": h?.get(H_VERSION) || target.version.version, "x-plugin-instance": h?.get(H_INSTANCE) ?? "" },
    sse: accept.includes("text/event-stream"),
    idleMs: target.policies.streamIdleMs,
    streams: lifecycle?.streams ?? new ActiveStreams(),
    logger,
    meter,
    onEnd: () => {
      if (traffic !== undefined) lifecycle!.tracker.leave(traffic);
    },
  });
}

/**
 * A unary reply in chunks, written as its chunks come (see {@linkcode bodyResponse}). Like a stream,
 * it counts in flight until its last byte.
 */
function respondInChunks(
  first: BusReply,
  target: Target,
  deadline: number,
  parts: { requestId: string; lifecycle: RouterLifecycle | undefined; logger: Logger; pipeline: RequestPipeline; series: MethodSeries },
): Response {
  const { requestId, lifecycle, logger, pipeline, series } = parts;
  const idleMs = target.policies.streamIdleMs;
  const call = new StreamCall(pipeline, { target, first, deadline, idleMs, window: BODY_WINDOW });
  const traffic = lifecycle?.tracker.traffic(target.plugin);
  if (traffic !== undefined) lifecycle!.tracker.enter(traffic);
  const h = first.headers;
  return bodyResponse(call, {
    requestId,
    plugin: target.plugin,
    // Checked against the limit when the reply came (`pullReply`).
    total: Number(h?.get(H_BYTES)),
    headers: { "x-request-id": requestId, "x-plugin-version": h?.get(H_VERSION) || target.version.version, "x-plugin-instance": h?.get(H_INSTANCE) ?? "" },
    idleMs,
    streams: lifecycle?.streams ?? new ActiveStreams(),
    logger,
    onEnd: (code) => {
      if (code !== "") series.plugin.bodiesCut++;
      if (traffic !== undefined) lifecycle!.tracker.leave(traffic);
    },
  });
}

/** The plugin's reply as HTTP: its bytes on success; an error reply with the plugin's status and code. */
function toResponse(reply: BusReply, target: Target, requestId: string, respond: ResponseFactory, logger: Logger): Response {
  if (reply.fallback) {
    return new Response(reply.data as Uint8Array<ArrayBuffer>, { status: 200, headers: { ...FALLBACK_HEADERS, "x-request-id": requestId } });
  }
  const h = reply.headers;
  const version = h?.get(H_VERSION) || target.version.version;
  const instance = h?.get(H_INSTANCE) ?? "";
  if (reply.status === 0) {
    return respond(reply.data, { "content-type": "application/json", "x-request-id": requestId, "x-plugin-version": version, "x-plugin-instance": instance });
  }
  const failure = wireErrorOf(reply);
  // 4xx, 503 and 504 keep their status; anything else a plugin answers is a 502.
  const status = (failure.status >= 400 && failure.status < 500) || failure.status === 503 || failure.status === 504 ? failure.status : 502;
  const err = new SwitchyardError(failure.code, failure.message || "The plugin failed", {
    status,
    ...(failure.issues === undefined ? {} : { issues: failure.issues }),
  });
  return errorResponse(err, requestId, logger, { "x-plugin-version": version, "x-plugin-instance": instance });
}
