import { context, propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace } from "@opentelemetry/api";
import type { Context, Span, Tracer } from "@opentelemetry/api";
import type { MsgHdrs } from "@nats-io/nats-core";
import type { Logger } from "../deps.ts";
import type { BusReply } from "../bus/mod.ts";
import { MethodSeries, PluginSeries, UNKNOWN_LABEL } from "./metrics.ts";
import type { RouterMetrics } from "./metrics.ts";
import { httpHeaderGetter } from "./propagation.ts";
import { StreamMeter } from "./stream_meter.ts";
import { STREAM_CANCELLED, STREAM_OK } from "./stream_metrics.ts";
import { ATTR, TracedCall } from "./traced_call.ts";
import { withSpan } from "./span_only_context.ts";
import type { CallTarget, RetryRefusal } from "./traced_call.ts";

/** Span options of a request's span (one object for all: the tracer only reads them). */
const SERVER = { kind: SpanKind.SERVER } as const;

/** Options of {@linkcode RouterTelemetry}. */
export interface RouterTelemetryOptions {
  /** `undefined`: no `/metrics` (requests still add to one scratch series, a few ns). */
  metrics?: RouterMetrics | undefined;
  /** `undefined`: tracing off; the request path then makes no span, context or header. */
  tracer?: Tracer | undefined;
  logger: Logger;
  /** One `debug` line per request (method, status, code, ms, request and trace ids). @default false */
  accessLog?: boolean;
}

/**
 * What the router's request path calls for metrics, traces and the access log, made once per
 * router. Without a tracer, a request costs two `performance.now()` calls and a few counter
 * increments on plain numbers; with one, a {@linkcode RequestTrace} per request.
 */
export class RouterTelemetry {
  readonly tracer: Tracer | undefined;
  readonly #metrics: RouterMetrics | undefined;
  readonly #scratch: MethodSeries;
  readonly #logger: Logger;
  readonly #accessLog: boolean;
  /** The headers the configured propagator reads (`traceparent`, `tracestate`, `baggage` by default). */
  readonly #fields: readonly string[];

  constructor(options: RouterTelemetryOptions) {
    this.tracer = options.tracer;
    this.#metrics = options.metrics;
    this.#scratch = new PluginSeries(UNKNOWN_LABEL).unknownMethod;
    this.#logger = options.logger;
    this.#accessLog = options.accessLog ?? false;
    this.#fields = options.tracer === undefined ? [] : parentFields(propagation.fields());
  }

  /** Starts a request's server span, honouring an incoming `traceparent`; `undefined` when tracing is off. */
  begin(req: Request, requestId: string): RequestTrace | undefined {
    return this.tracer === undefined ? undefined : new RequestTrace(this.tracer, req, requestId, this.#fields);
  }

  /** The request was routed to a registered method: its series, counted in flight until {@linkcode finish}. */
  enter(route: CallTarget, trace: RequestTrace | undefined): MethodSeries {
    const series = this.#metrics?.series(route.plugin, route.method.name) ?? this.#scratch;
    series.plugin.inflight++;
    trace?.routed(series.plugin, route);
    return series;
  }

  /**
   * A streaming response starts (its first item is about to be written): its meter, which keeps
   * the request's span open until the stream's end. `startedMs` is the request's `performance.now()`.
   */
  stream(series: MethodSeries, trace: RequestTrace | undefined, startedMs: number): StreamMeter {
    return new StreamMeter(series, trace, startedMs);
  }

  /** The series of a request that failed before routing: the plugin if `known`, else `_unknown`. */
  unrouted(plugin: string, known: boolean): MethodSeries {
    return this.#metrics?.unrouted(known ? plugin : undefined) ?? this.#scratch;
  }

  /**
   * Records the answer: status count and latency, the in-flight gauge, rate limiting, and ends the
   * span. `code` is the error code ("" on success).
   */
  finish(series: MethodSeries, res: Response, code: string, startedMs: number, trace: RequestTrace | undefined, requestId: string): void {
    const ms = performance.now() - startedMs;
    const status = res.status;
    series.record(status, ms / 1000);
    if (series.routed) series.plugin.inflight--;
    if (code === "rate_limited") series.plugin.rateLimited++;
    trace?.end(res, code);
    if (this.#accessLog) {
      this.#logger.debug("request", {
        requestId,
        ...(trace === undefined ? {} : { traceId: trace.span.spanContext().traceId }),
        plugin: series.plugin.name,
        method: series.method,
        status,
        ...(code === "" ? {} : { code }),
        ms: Math.round(ms * 1000) / 1000,
        instance: res.headers.get("x-plugin-instance") ?? "",
      });
    }
  }
}

/**
 * The trace of one router request: the SERVER span (HTTP semantic conventions), a CLIENT span
 * per NATS attempt under it, retry and ejection events. Also the request's observer in the request
 * pipeline, so retry metrics and span events come from one place.
 */
export class RequestTrace {
  readonly span: Span;
  readonly #call: TracedCall;
  #series: PluginSeries | undefined;
  #route = "/v1/:plugin/:method";
  /** A streaming response is being written: the span ends with it, not with the first item. */
  #streaming = false;
  /** {@linkcode RequestTrace.end} ran while the stream was still being written. */
  #answered = false;

  constructor(tracer: Tracer, req: Request, requestId: string, fields: readonly string[]) {
    // Attributes one by one, not as an object literal: no object per call for the tracer to walk.
    // A span a runtime already opened for this request (Deno's, with OTEL_DENO=true) is the parent;
    // otherwise the client's trace context, if it sent any (most requests carry none: skip the parse).
    const active = context.active();
    const parent: Context = trace.getSpan(active) !== undefined
      ? active
      : hasAny(req.headers, fields)
      ? propagation.extract(ROOT_CONTEXT, req.headers, httpHeaderGetter)
      : ROOT_CONTEXT;
    const url = req.url;
    const start = url.indexOf("/", url.indexOf("//") + 2);
    const query = url.indexOf("?", start);
    const path = start < 0 ? "/" : url.slice(start, query < 0 ? undefined : query);
    const span = this.span = tracer.startSpan("POST /v1/:plugin/:method", SERVER, parent);
    // Set after the start: the SDK validates attributes given to startSpan twice (see TracedCall).
    if (span.isRecording()) {
      span.setAttribute("http.request.method", req.method);
      span.setAttribute("url.path", path.length > 256 ? path.slice(0, 256) : path);
      span.setAttribute("url.scheme", url.startsWith("https:") ? "https" : "http");
      span.setAttribute(ATTR.requestId, requestId);
    }
    this.#call = new TracedCall(tracer, withSpan(parent, this.span), this.span);
  }

  /** Names the span after the plugin method once the request was resolved. */
  routed(series: PluginSeries, route: CallTarget): void {
    this.#series = series;
    this.#call.target(route);
    if (!this.span.isRecording()) return;
    const names = routeNames(route);
    this.span.updateName(names.span);
    this.#route = names.path;
    this.span.setAttribute(ATTR.plugin, route.plugin);
    this.span.setAttribute(ATTR.method, route.method.name);
  }

  /** An attempt starts: its CLIENT span, whose context goes into `headers`. */
  startAttempt(headers: MsgHdrs): unknown {
    return this.#call.startAttempt(headers);
  }

  endAttempt(handle: unknown, reply: BusReply | undefined, err: unknown): void {
    this.#call.endAttempt(handle, reply, err);
  }

  picked(instance: string | undefined, subject: string): void {
    this.#call.picked(instance, subject);
  }

  ejected(instance: string, reason: string, forMs: number): void {
    this.#call.ejected(instance, reason, forMs);
  }

  resent(subject: string): void {
    this.#call.resent(subject);
  }

  retrying(attempt: number, delayMs: number, reason: string): void {
    if (this.#series !== undefined) this.#series.retries++;
    this.#call.retrying(attempt, delayMs, reason);
  }

  retryRefused(reason: RetryRefusal): void {
    if (reason === "budget" && this.#series !== undefined) this.#series.retryBudgetExhausted++;
    this.#call.retryRefused(reason);
  }

  /** The answer is a stream: the span stays open until {@linkcode RequestTrace.streamEnded}. */
  streamStarted(): void {
    this.#streaming = true;
  }

  /** `items` items of the stream were written (called at most once per 100). */
  streamItems(items: number): void {
    this.span.addEvent("items", { [ATTR.streamItems]: items });
  }

  /**
   * The stream is over after `items` items: `code` is the error that ended it ("" for none),
   * `outcome` its metrics label. Ends the span if the response's status was recorded already.
   */
  streamEnded(items: number, code: string, outcome: string): void {
    this.#streaming = false;
    const span = this.span;
    if (!span.isRecording()) return;
    span.setAttribute(ATTR.streamItems, items);
    span.setAttribute(ATTR.streamOutcome, outcome);
    if (outcome !== STREAM_OK && outcome !== STREAM_CANCELLED) {
      span.setAttribute(ATTR.errorCode, code);
      span.setStatus({ code: SpanStatusCode.ERROR, message: code });
    }
    if (this.#answered) span.end();
  }

  /**
   * Ends the server span with the response's status; 5xx are errors, 4xx are the client's. A
   * stream's span ends with the stream instead.
   */
  end(res: Response, code: string): void {
    const span = this.span;
    if (!span.isRecording()) {
      span.end();
      return;
    }
    const status = res.status;
    span.setAttribute("http.route", this.#route);
    span.setAttribute("http.response.status_code", status);
    const instance = res.headers.get("x-plugin-instance");
    if (instance) span.setAttribute(ATTR.instance, instance);
    if (code !== "") {
      span.setAttribute(ATTR.errorCode, code);
      if (code === "circuit_open") span.addEvent("circuit open: request refused", { "http.response.header.retry-after": res.headers.get("retry-after") ?? "" });
      else if (code === "rate_limited") span.addEvent("rate limited");
    } else if (res.headers.get("x-fallback") !== null) {
      span.addEvent("fallback answered: circuit open");
    }
    if (status >= 500) {
      span.setAttribute("error.type", String(status));
      span.setStatus({ code: SpanStatusCode.ERROR, message: code || String(status) });
    }
    if (this.#streaming) this.#answered = true;
    else span.end();
  }
}

/**
 * The propagator's fields that can give a request a parent span: `tracestate` and `baggage` alone
 * cannot (W3C trace context needs `traceparent`; baggage is not carried over NATS), so with
 * `traceparent` among the fields they are not looked up.
 */
function parentFields(fields: readonly string[]): readonly string[] {
  return fields.includes("traceparent") ? fields.filter((f) => f !== "tracestate" && f !== "baggage") : fields;
}

/** A route's `http.route` and span name, made once per method (the strings would otherwise be built per request). */
interface RouteNames {
  readonly path: string;
  readonly span: string;
}

const routeNameCache = new Map<string, RouteNames>();
/** Plugins come and go: the cache starts over rather than grow without end. */
const ROUTE_NAME_CACHE_SIZE = 1024;

/** Keyed by the method's NATS subject: a string the route holds already (its hash computed once). */
function routeNames(route: CallTarget): RouteNames {
  const subject = route.method.subject;
  let names = routeNameCache.get(subject);
  if (names === undefined) {
    if (routeNameCache.size >= ROUTE_NAME_CACHE_SIZE) routeNameCache.clear();
    const path = `/v1/${route.plugin}/${route.method.name}`;
    names = { path, span: `POST ${path}` };
    routeNameCache.set(subject, names);
  }
  return names;
}

function hasAny(headers: Headers, names: readonly string[]): boolean {
  for (let i = 0; i < names.length; i++) if (headers.has(names[i]!)) return true;
  return false;
}
