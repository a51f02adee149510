import * as v from "valibot";
import type { Msg, MsgHdrs } from "@nats-io/nats-core";
import { codeOf, ErrorCode, isSwitchyardError, statusOf } from "../errors.ts";
import type { Issue } from "../errors.ts";
import type { Clock, Logger } from "../deps.ts";
import type { MethodDefinition, Plugin, Principal } from "../plugin/mod.ts";
import { BUS_FAILURE_MESSAGE, encodeWireError, H_DEADLINE, H_INSTANCE, H_NESTED, H_PRINCIPAL, H_REQUEST_ID, H_VERSION, isBusError, readHeaders, WireHeaders } from "../bus/mod.ts";
import type { WireError } from "../bus/mod.ts";
import { context } from "@opentelemetry/api";
import type { HandlerTrace, PluginTracing } from "../telemetry/mod.ts";
import { ANONYMOUS, RequestContext, SignalSet } from "./request_context.ts";
import { MethodStats } from "./method_stats.ts";
import type { PluginCaller } from "./plugin_caller.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** How long a request without a deadline header may run. */
export const DEFAULT_DEADLINE_MS = 30_000;

/** Runs a plugin's methods for incoming messages and tracks what is in flight. */
export class Dispatcher {
  readonly stats = new Map<string, MethodStats>();
  readonly signals = new SignalSet();
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
   * The NATS server's `max_payload` (`nc.info.max_payload`): a reply larger than it cannot be
   * sent, so it is answered 502 `bad_plugin_response` instead of leaving the caller to time out.
   */
  maxPayload: (() => number | undefined) | undefined;
  #inflight = 0;
  #idle: (() => void) | undefined;

  constructor(plugin: Plugin, instanceId: string, logger: Logger, options: Readonly<Record<string, unknown>>, clock: Clock) {
    this.#plugin = plugin;
    this.#clock = clock;
    this.options = options;
    this.#instanceId = instanceId;
    this.#logger = logger;
    this.#okHeaders = this.#replyHeaders();
    for (const name of Object.keys(plugin.methods)) this.stats.set(name, new MethodStats());
  }

  /** Handlers still running. */
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
    const span = tracing === undefined ? undefined : tracing.begin(msg, name);
    this.#run(msg, method, span).then((err) => {
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
  async #run(msg: Msg, method: MethodDefinition, span: HandlerTrace | undefined): Promise<WireError | undefined> {
    let input: unknown;
    try {
      input = msg.data.length === 0 ? {} : JSON.parse(decoder.decode(msg.data));
    } catch {
      return this.#replyError(msg, { status: 400, code: ErrorCode.InvalidJson, message: "The input is not valid JSON" });
    }
    // 1e309 parses to Infinity, which valibot's number() takes and JSON.stringify turns into null.
    const overflow = nonFinitePath(input, "");
    if (overflow !== undefined) {
      return this.#replyError(msg, {
        status: 422,
        code: ErrorCode.ValidationFailed,
        message: "The input does not match the method's schema",
        issues: [{ path: overflow, message: "Must be a finite number (the value overflows)" }],
      });
    }
    const parsed = v.safeParse(method.input, input);
    if (!parsed.success) {
      return this.#replyError(msg, {
        status: 422,
        code: ErrorCode.ValidationFailed,
        message: "The input does not match the method's schema",
        issues: toIssues(parsed.issues),
      });
    }
    const ctx = this.#context(msg, span);
    let output: unknown;
    try {
      output = await (span === undefined ? method.handler(parsed.output, ctx) : context.with(span.ctx, method.handler, undefined, parsed.output, ctx));
    } catch (err) {
      if (span !== undefined && !isSwitchyardError(err)) this.tracing?.thrown(span, err);
      return this.#replyError(msg, this.#handlerError(err, ctx));
    } finally {
      ctx.dispose();
    }
    // The caller stopped waiting at the deadline: a late result would race its timeout.
    if (ctx.expired) {
      return this.#replyError(msg, { status: 504, code: ErrorCode.Timeout, message: "The deadline passed before the handler finished" });
    }
    const checked = v.safeParse(method.output, output);
    if (!checked.success) {
      ctx.logger.error("handler returned output that does not match its schema", { issues: toIssues(checked.issues) });
      return this.#replyError(msg, {
        status: 502,
        code: ErrorCode.BadPluginResponse,
        message: "The plugin returned output that does not match its schema",
      });
    }
    let data: Uint8Array;
    try {
      data = encoder.encode(JSON.stringify(checked.output));
    } catch (err) {
      ctx.logger.error("handler output cannot be encoded as JSON", { error: String(err) });
      return this.#replyError(msg, { status: 502, code: ErrorCode.BadPluginResponse, message: "The plugin returned output that is not JSON" });
    }
    const limit = this.maxPayload?.();
    if (limit !== undefined && data.length + this.#okHeaders.encode().length > limit) {
      ctx.logger.error("handler output is larger than the server's max_payload", { bytes: data.length, maxPayload: limit });
      return this.#replyError(msg, {
        status: 502,
        code: ErrorCode.BadPluginResponse,
        message: `The plugin's output (${data.length} bytes) is larger than the bus carries (max_payload ${limit} bytes)`,
      });
    }
    respond(msg, data, this.#okHeaders, this.#logger);
    return undefined;
  }

  #context(msg: Msg, span: HandlerTrace | undefined): RequestContext {
    const hdrs = readHeaders(msg);
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

  #handlerError(err: unknown, ctx: RequestContext): WireError {
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

/** The dotted path of the first number JSON cannot carry (Infinity, NaN) in `x`, if any. */
function nonFinitePath(x: unknown, path: string): string | undefined {
  if (typeof x === "number") return Number.isFinite(x) ? undefined : path;
  if (typeof x !== "object" || x === null) return undefined;
  for (const [key, value] of Object.entries(x)) {
    const found = nonFinitePath(value, path === "" ? key : `${path}.${key}`);
    if (found !== undefined) return found;
  }
  return undefined;
}

function toIssues(issues: readonly v.BaseIssue<unknown>[]): Issue[] {
  return issues.map((issue) => ({ path: v.getDotPath(issue) ?? "", message: issue.message }));
}
