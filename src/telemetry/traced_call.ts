import { SpanKind, SpanStatusCode } from "@opentelemetry/api";
import type { Context, Span, Tracer } from "@opentelemetry/api";
import type { MsgHdrs } from "@nats-io/nats-core";
import { codeOf } from "../errors.ts";
import { H_INSTANCE } from "../bus/mod.ts";
import type { BusReply } from "../bus/mod.ts";
import { injectTraceContext } from "./w3c.ts";

/** Span attribute names of Switchyard's own (the rest follow the OpenTelemetry semantic conventions). */
export const ATTR = {
  requestId: "switchyard.request_id",
  plugin: "switchyard.plugin",
  method: "switchyard.method",
  version: "switchyard.plugin.version",
  instance: "switchyard.instance.id",
  attempt: "switchyard.attempt",
  errorCode: "switchyard.error.code",
  nested: "switchyard.nested",
  draining: "switchyard.draining",
  /** Items a stream wrote: on its `items` events (the running count) and at its end. */
  streamItems: "switchyard.stream.items",
  /** How a stream ended: `ok`, `cancelled` or an error code (as the `code` label of its metrics). */
  streamOutcome: "switchyard.stream.outcome",
} as const;

/** Span options of an attempt (one object for all: the tracer only reads them). */
const CLIENT = { kind: SpanKind.CLIENT } as const;

const sendNames = new Map<string, string>();
/** Subjects come and go with plugin versions: the cache starts over rather than grow without end. */
const SEND_NAME_CACHE_SIZE = 1024;

/** `send <subject>`, made once per subject rather than per attempt. */
function sendName(subject: string): string {
  let name = sendNames.get(subject);
  if (name === undefined) {
    if (sendNames.size >= SEND_NAME_CACHE_SIZE) sendNames.clear();
    name = `send ${subject}`;
    sendNames.set(subject, name);
  }
  return name;
}

/**
 * Which plugin method a call goes to: the shape of the request pipeline's resolved target, read
 * as is (no copy per request).
 */
export interface CallTarget {
  readonly plugin: string;
  readonly method: { readonly name: string; readonly subject: string };
  /** The version picked. */
  readonly version: { readonly version: string };
}

/** Why a retry was not made: the budget was spent, the deadline too near, or the circuit opened. */
export type RetryRefusal = "budget" | "deadline" | "breaker";

/**
 * The trace of one call over NATS (a router request, or one `ctx.call`): a CLIENT span per
 * attempt under `parent`, with the messaging attributes, and events for retries, refused retries
 * and ejections. Made only when tracing is on.
 */
export class TracedCall {
  readonly #tracer: Tracer;
  readonly #parent: Context;
  /** Where retry events go: the caller's own span. */
  readonly #owner: Span;
  #target: CallTarget | undefined;
  #attempt = 0;
  #current: Span | undefined;
  /** The balancer named this attempt's instance. */
  #picked = false;

  constructor(tracer: Tracer, parent: Context, owner: Span) {
    this.#tracer = tracer;
    this.#parent = parent;
    this.#owner = owner;
  }

  /** Names the target (the router learns it after routing). */
  target(target: CallTarget): void {
    this.#target = target;
  }

  /**
   * Starts the next attempt's span and writes its context into `headers` (replacing the last one's).
   * Attributes are few on purpose, and set after the start: the SDK validates each one (twice when
   * given to `startSpan`, and even for a span the sampler then drops); the plugin, method and version
   * are on the parent and child spans already. The built-in samplers do not look at attributes.
   */
  startAttempt(headers: MsgHdrs): Span {
    const subject = this.#target?.method.subject ?? "";
    const attempt = ++this.#attempt;
    const span = this.#tracer.startSpan(sendName(subject), CLIENT, this.#parent);
    if (span.isRecording()) {
      span.setAttribute("messaging.system", "nats");
      span.setAttribute("messaging.operation.type", "send");
      span.setAttribute("messaging.operation.name", "request");
      span.setAttribute("messaging.destination.name", subject);
      span.setAttribute(ATTR.attempt, attempt);
    }
    injectTraceContext(span.spanContext(), headers);
    this.#current = span;
    this.#picked = false;
    return span;
  }

  /** Ends an attempt's span (from {@linkcode TracedCall.startAttempt}) from its reply (an error reply included) or the error it threw. */
  endAttempt(handle: unknown, reply: BusReply | undefined, err: unknown): void {
    const span = handle as Span;
    if (!span.isRecording()) {
      // Not sampled: nothing to record.
    } else if (reply !== undefined) {
      const h = reply.headers;
      if (!this.#picked) {
        const instance = h?.get(H_INSTANCE);
        if (instance) span.setAttribute(ATTR.instance, instance);
      }
      const status = reply.status;
      if (status > 0) {
        const code = reply.code || String(status);
        span.setAttribute(ATTR.errorCode, code);
        if (status >= 500) {
          span.setAttribute("error.type", code);
          span.setStatus({ code: SpanStatusCode.ERROR, message: code });
        }
      }
    } else {
      const code = codeOf(err);
      span.setAttribute(ATTR.errorCode, code);
      span.setAttribute("error.type", code);
      span.setStatus({ code: SpanStatusCode.ERROR, message: err instanceof Error ? err.message : code });
    }
    span.end();
    if (this.#current === span) this.#current = undefined;
  }

  /** The balancer chose where this attempt goes (`instance` undefined: the queue group). */
  picked(instance: string | undefined, subject: string): void {
    const span = this.#current;
    if (span === undefined) return;
    if (subject !== this.#target?.method.subject) span.setAttribute("messaging.destination.name", subject);
    if (instance !== undefined) {
      span.setAttribute(ATTR.instance, instance);
      this.#picked = true;
    }
  }

  /** The attempt's instance was ejected as an outlier (an event on the caller's span: the attempt's has ended). */
  ejected(instance: string, reason: string, forMs: number): void {
    this.#owner.addEvent("instance ejected", { [ATTR.instance]: instance, "switchyard.ejection.reason": reason, "switchyard.ejection.ms": forMs });
  }

  /** Nobody listened on `subject`: the attempt is sent again elsewhere (it ran nowhere). */
  resent(subject: string): void {
    this.#owner.addEvent("no responders: resent", { "messaging.destination.name": subject });
  }

  /** A retry starts after `delayMs` of backoff. */
  retrying(attempt: number, delayMs: number, reason: string): void {
    this.#owner.addEvent("retry", { [ATTR.attempt]: attempt, "switchyard.retry.delay_ms": delayMs, "switchyard.retry.reason": reason });
  }

  /** A retryable failure was not retried. */
  retryRefused(reason: RetryRefusal): void {
    this.#owner.addEvent("retry refused", { "switchyard.retry.refused": reason });
  }
}
