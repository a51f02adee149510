import * as v from "valibot";
import type { Msg, MsgHdrs } from "@nats-io/nats-core";
import { codeOf, ErrorCode, isSwitchyardError, statusOf } from "../errors.ts";
import type { Clock, Logger } from "../deps.ts";
import type { MethodDefinition, Plugin, Principal } from "../plugin/mod.ts";
import {
  BUS_FAILURE_MESSAGE,
  encodeWireError,
  H_BYTES,
  H_CHUNKS,
  H_DEADLINE,
  H_INSTANCE,
  H_NESTED,
  H_PRINCIPAL,
  H_REQUEST_ID,
  H_VERSION,
  isBusError,
  readHeaders,
  UNSIZED,
  WireHeaders,
} from "../bus/mod.ts";
import type { WireError } from "../bus/mod.ts";
import { context } from "@opentelemetry/api";
import type { HandlerTrace, PluginTracing } from "../telemetry/mod.ts";
import { ANONYMOUS, RequestContext, SignalSet } from "./request_context.ts";
import { MethodStats } from "./method_stats.ts";
import type { PluginCaller } from "./plugin_caller.ts";
import { DEFAULT_MAX_INPUT_BYTES, SessionTable } from "./session_table.ts";
import { BodyUpload } from "./body_sessions.ts";
import { runStream } from "./stream_run.ts";
import type { StreamRunner } from "./stream_run.ts";
import { nonFinitePath, toIssues } from "./issues.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** How long a request without a deadline header may run. */
export const DEFAULT_DEADLINE_MS = 30_000;

/** Runs a plugin's methods for incoming messages and tracks what is in flight. */
export class Dispatcher implements StreamRunner {
  readonly stats = new Map<string, MethodStats>();
  readonly signals = new SignalSet();
  /** Streams, and replies and inputs in chunks, served on `<instance base>.$s.*`. */
  readonly sessions: SessionTable;
  /** An input that comes in chunks may be at most this large (413 above). */
  maxInputBytes = DEFAULT_MAX_INPUT_BYTES;
  readonly #plugin: Plugin;
  readonly #instanceId: string;
  readonly #logger: Logger;
  readonly #clock: Clock;
  /** The success reply's headers, encoded once for every reply. */
  readonly #okHeaders: WireHeaders;
  /** Replaced whole when options change, so a running handler keeps the options it started with. */
  options: Readonly<Record<string, unknown>>;
  /** Serves `ctx.call`; without one, `ctx.call` throws `plugin_unavailable`. */
  caller: PluginCaller | undefined;
  /** Server spans per request; `undefined` (tracing off) costs one check per request. */
  tracing: PluginTracing | undefined;
  /**
   * The NATS server's `max_payload` (`nc.info.max_payload`): a reply larger than it goes in chunks
   * to a caller that pulls them, and is answered 502 `bad_plugin_response` to one that does not.
   */
  maxPayload: () => number | undefined = () => undefined;
  #inflight = 0;
  #idle: (() => void) | undefined;

  constructor(plugin: Plugin, instanceId: string, logger: Logger, options: Readonly<Record<string, unknown>>, clock: Clock) {
    this.#plugin = plugin;
    this.#clock = clock;
    this.options = options;
    this.#instanceId = instanceId;
    this.#logger = logger;
    this.#okHeaders = this.#replyHeaders();
    this.sessions = new SessionTable({ instanceId, version: plugin.version, logger, clock });
    for (const name of Object.keys(plugin.methods)) this.stats.set(name, new MethodStats());
  }

  /** The instance's logger. */
  get logger(): Logger {
    return this.#logger;
  }

  /** Handlers still running (streams until their last message is out). */
  get inflight(): number {
    return this.#inflight;
  }

  /** Resolves once no handler runs. */
  idle(): Promise<void> {
    if (this.#inflight === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const previous = this.#idle;
      this.#idle = () => {
        previous?.();
        resolve();
      };
    });
  }

  /** The subscription callback: the method name is the subject's last token. */
  handle(msg: Msg): void {
    const subject = msg.subject;
    const name = subject.slice(subject.lastIndexOf(".") + 1);
    const method = this.#plugin.methods[name];
    const stats = this.stats.get(name);
    if (method === undefined || stats === undefined || !Object.hasOwn(this.#plugin.methods, name)) {
      this.#replyError(msg, { status: 404, code: ErrorCode.MethodNotFound, message: `No method "${name}"` });
      return;
    }
    this.#inflight++;
    const started = performance.now();
    const tracing = this.tracing;
    // Decoded once: the span and the handler both read them.
    const hdrs = readHeaders(msg);
    const span = tracing === undefined ? undefined : tracing.begin(msg, name, hdrs);
    this.#run(msg, hdrs, method, span).then((err) => {
      // Measured until the async handler settled, not only its synchronous part.
      stats.record(performance.now() - started, err);
      if (span !== undefined) tracing!.end(span, err);
      if (--this.#inflight === 0 && this.#idle !== undefined) {
        const idle = this.#idle;
        this.#idle = undefined;
        idle();
      }
    });
  }

  /** Runs one request; resolves with the error it answered, if any. Never rejects. */
  async #run(msg: Msg, hdrs: WireHeaders | undefined, method: MethodDefinition, span: HandlerTrace | undefined): Promise<WireError | undefined> {
    let data = msg.data;
    let replyTo = msg;
    const total = hdrs?.get(H_BYTES);
    if (total !== undefined && total !== "") {
      // The input comes in chunks: the method runs once the last is in, and answers that one.
      const upload = this.sessions.receiveInput(msg, hdrs, total === UNSIZED ? undefined : Number(total), this.maxInputBytes);
      if (!(upload instanceof BodyUpload)) return this.#replyError(msg, upload);
      const body = await upload.body;
      if (!("data" in body)) return body;
      data = body.data;
      replyTo = body.replyTo;
    }
    let input: unknown;
    try {
      input = data.length === 0 ? {} : JSON.parse(decoder.decode(data));
    } catch {
      return this.#replyError(replyTo, { status: 400, code: ErrorCode.InvalidJson, message: "The input is not valid JSON" });
    }
    // 1e309 parses to Infinity, which valibot's number() takes and JSON.stringify turns into null.
    const overflow = nonFinitePath(input, "");
    if (overflow !== undefined) {
      return this.#replyError(replyTo, {
        status: 422,
        code: ErrorCode.ValidationFailed,
        message: "The input does not match the method's schema",
        issues: [{ path: overflow, message: "Must be a finite number (the value overflows)" }],
      });
    }
    const parsed = v.safeParse(method.input, input);
    if (!parsed.success) {
      return this.#replyError(replyTo, {
        status: 422,
        code: ErrorCode.ValidationFailed,
        message: "The input does not match the method's schema",
        issues: toIssues(parsed.issues),
      });
    }
    if (method.stream === true) {
      if (hdrs?.get(H_CHUNKS) !== "1") {
        return this.#replyError(replyTo, { status: 400, code: ErrorCode.InvalidRequest, message: "This method streams: the caller must pull its items (sy-chunks: 1)" });
      }
      return runStream(this, { msg: replyTo, hdrs, method, input: parsed.output, ctx: this.#context(hdrs, span), span });
    }
    const ctx = this.#context(hdrs, span);
    let output: unknown;
    try {
      output = await (span === undefined ? method.handler(parsed.output, ctx) : context.with(span.ctx, method.handler, undefined, parsed.output, ctx));
    } catch (err) {
      if (span !== undefined && !isSwitchyardError(err)) this.tracing?.thrown(span, err);
      return this.#replyError(replyTo, this.handlerError(err, ctx));
    } finally {
      ctx.dispose();
    }
    // The caller stopped waiting at the deadline: a late result would race its timeout.
    if (ctx.expired) {
      return this.#replyError(replyTo, { status: 504, code: ErrorCode.Timeout, message: "The deadline passed before the handler finished" });
    }
    const checked = v.safeParse(method.output, output);
    if (!checked.success) {
      ctx.logger.error("handler returned output that does not match its schema", { issues: toIssues(checked.issues) });
      return this.#replyError(replyTo, {
        status: 502,
        code: ErrorCode.BadPluginResponse,
        message: "The plugin returned output that does not match its schema",
      });
    }
    let out: Uint8Array;
    try {
      out = encoder.encode(JSON.stringify(checked.output));
    } catch (err) {
      ctx.logger.error("handler output cannot be encoded as JSON", { error: String(err) });
      return this.#replyError(replyTo, { status: 502, code: ErrorCode.BadPluginResponse, message: "The plugin returned output that is not JSON" });
    }
    const limit = this.maxPayload();
    if (limit !== undefined && out.length + this.#okHeaders.encode().length > limit) {
      if (hdrs?.get(H_CHUNKS) === "1") {
        // The caller pulls the rest: the reply goes in chunks.
        await this.sessions.sendInChunks(replyTo, hdrs, out, limit).closed;
        return undefined;
      }
      ctx.logger.error("handler output is larger than the server's max_payload", { bytes: out.length, maxPayload: limit });
      return this.#replyError(replyTo, {
        status: 502,
        code: ErrorCode.BadPluginResponse,
        message: `The plugin's output (${out.length} bytes) is larger than the bus carries (max_payload ${limit} bytes)`,
      });
    }
    respond(replyTo, out, this.#okHeaders, this.#logger);
    return undefined;
  }

  #context(hdrs: MsgHdrs | undefined, span: HandlerTrace | undefined): RequestContext {
    const requestId = hdrs?.get(H_REQUEST_ID) ?? "";
    const deadline = Number(hdrs?.get(H_DEADLINE)) || this.#clock.now() + DEFAULT_DEADLINE_MS;
    const principalText = hdrs?.get(H_PRINCIPAL) ?? "";
    let principal: Principal = ANONYMOUS;
    if (principalText !== "") {
      try {
        principal = JSON.parse(principalText) as Principal;
      } catch {
        principal = ANONYMOUS;
      }
    }
    return new RequestContext(
      { instanceId: this.#instanceId, version: this.#plugin.version, requestId, deadline, principal, options: this.options },
      this.#logger,
      this.#clock,
      this.signals,
      { caller: this.caller, principalHeader: principalText, nested: hdrs?.get(H_NESTED) === "1" },
      span,
    );
  }

  /** What the caller is told of what a handler threw. */
  handlerError(err: unknown, ctx: RequestContext): WireError {
    if (isSwitchyardError(err)) return { status: err.status, code: err.code, message: err.message };
    // A ctx.call that got no reply, passed on: its code stands, its message names no subject.
    if (isBusError(err)) return { status: statusOf(err), code: codeOf(err), message: BUS_FAILURE_MESSAGE[err.failure] };
    // Anything else is a bug in the plugin: log it whole here, send no stack to the caller.
    ctx.logger.error("handler threw", { error: err instanceof Error ? (err.stack ?? err.message) : String(err) });
    return { status: 500, code: ErrorCode.PluginError, message: "The plugin failed to handle the request" };
  }

  #replyError(msg: Msg, err: WireError): WireError {
    const { headers, data } = encodeWireError(err, this.#replyHeaders());
    respond(msg, data, headers, this.#logger);
    return err;
  }

  #replyHeaders(): WireHeaders {
    const h = new WireHeaders();
    h.set(H_INSTANCE, this.#instanceId);
    h.set(H_VERSION, this.#plugin.version);
    return h;
  }
}

/** Sends a reply; a connection closed under it is logged, so a request's bookkeeping still completes. */
function respond(msg: Msg, data: Uint8Array, headers: MsgHdrs, logger: Logger): void {
  try {
    msg.respond(data, { headers });
  } catch (err) {
    logger.warn("could not send a reply", { subject: msg.subject, error: String(err) });
  }
}

