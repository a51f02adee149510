import { INVALID_SPAN_CONTEXT, SpanKind, SpanStatusCode, trace } from "@opentelemetry/api";
import type { Context, Span, Tracer } from "@opentelemetry/api";
import type { Msg, MsgHdrs } from "@nats-io/nats-core";
import { H_NESTED, H_REQUEST_ID, readHeaders } from "../bus/mod.ts";
import type { WireError } from "../bus/mod.ts";
import { extractTraceContext } from "./w3c.ts";
import { ATTR } from "./traced_call.ts";
import { withSpan } from "./span_only_context.ts";

/** The span `ctx.span` is when tracing is off: records nothing, allocates nothing per request. */
export const NOOP_SPAN: Span = trace.wrapSpanContext(INVALID_SPAN_CONTEXT);

/** Span options of a request's span (one object for all: the tracer only reads them). */
const SERVER = { kind: SpanKind.SERVER } as const;

/** Who serves, for the plugin server spans. */
export interface PluginIdentity {
  plugin: string;
  version: string;
  instanceId: string;
  queue: string;
  /** The instance's own subject base (`<prefix>.$i.<id>`): requests there bypassed the queue group. */
  ownBase: string;
}

/** One handler run's span, and the context its handler runs in. */
export interface HandlerTrace {
  readonly span: Span;
  readonly ctx: Context;
}

/**
 * The plugin side of a trace: a SERVER span per request, continuing the caller's trace from the
 * NATS headers, with the messaging attributes; the handler runs with it as the active span, so a
 * plugin's own spans and `ctx.call` sit under it. Events mark a drain that reached a running
 * request. Made once per host, and only when tracing is on.
 */
export class PluginTracing {
  readonly tracer: Tracer;
  readonly #id: PluginIdentity;
  readonly #live = new Set<HandlerTrace>();
  /** Span names per method (a plugin's methods are fixed: no string built per request). */
  readonly #names = new Map<string, string>();
  #draining = false;

  constructor(tracer: Tracer, identity: PluginIdentity) {
    this.tracer = tracer;
    this.#id = identity;
  }

  /** Starts the span of one incoming request for `method`; `hdrs` are its headers if already decoded. */
  begin(msg: Msg, method: string, hdrs: MsgHdrs | undefined = readHeaders(msg)): HandlerTrace {
    const id = this.#id;
    const parent = extractTraceContext(hdrs);
    const subject = msg.subject;
    let name = this.#names.get(method);
    if (name === undefined) this.#names.set(method, name = `process ${id.plugin}.${method}`);
    const span = this.tracer.startSpan(name, SERVER, parent);
    // Set after the start (the SDK validates attributes given to startSpan twice, see TracedCall), one
    // by one (no object per request for the tracer to walk).
    if (span.isRecording()) {
      span.setAttribute("messaging.system", "nats");
      span.setAttribute("messaging.operation.type", "process");
      span.setAttribute("messaging.destination.name", subject);
      span.setAttribute(ATTR.requestId, hdrs?.get(H_REQUEST_ID) ?? "");
      span.setAttribute(ATTR.instance, id.instanceId);
      span.setAttribute(ATTR.version, id.version);
      if (!subject.startsWith(id.ownBase)) span.setAttribute("messaging.consumer.group.name", id.queue);
      if (hdrs?.get(H_NESTED) === "1") span.setAttribute(ATTR.nested, true);
      if (this.#draining) span.setAttribute(ATTR.draining, true);
    }
    const handler: HandlerTrace = { span, ctx: withSpan(parent, span) };
    this.#live.add(handler);
    return handler;
  }

  /** A non-Switchyard error a handler threw: recorded on the span (operators see it, callers do not). */
  thrown(handler: HandlerTrace, err: unknown): void {
    handler.span.recordException(err instanceof Error ? err : String(err));
  }

  /** Ends the span: `err` is the error reply sent, if any; 5xx are errors. */
  end(handler: HandlerTrace, err: WireError | undefined): void {
    this.#live.delete(handler);
    const span = handler.span;
    if (err !== undefined) {
      span.setAttribute(ATTR.errorCode, err.code);
      if (err.status >= 500) {
        span.setAttribute("error.type", err.code);
        span.setStatus({ code: SpanStatusCode.ERROR, message: err.code });
      }
    }
    span.end();
  }

  /** The instance started draining: running requests get an event, new ones an attribute. */
  draining(): void {
    this.#draining = true;
    for (const h of this.#live) h.span.addEvent("instance draining: finishing this request");
  }

  /** The drain timed out: the handlers still running are aborted. */
  aborted(): void {
    for (const h of this.#live) h.span.addEvent("drain timed out: handler aborted");
  }
}
