import type { Span } from "@opentelemetry/api";
import type { Clock, Logger } from "../deps.ts";
import { NOOP_SPAN } from "../telemetry/mod.ts";
import type { HandlerTrace } from "../telemetry/mod.ts";
import { ErrorCode, SwitchyardError } from "../errors.ts";
import type { PluginCaller } from "./plugin_caller.ts";
import type { PluginContext, Principal } from "../plugin/mod.ts";

export const ANONYMOUS: Principal = Object.freeze({ id: "anonymous" });

/** Aborts every live request's signal at once (a drain that ran out of time). */
export class SignalSet {
  readonly #controllers = new Set<AbortController>();
  add(c: AbortController): void {
    this.#controllers.add(c);
  }
  delete(c: AbortController): void {
    this.#controllers.delete(c);
  }
  abortAll(reason: string): void {
    for (const c of this.#controllers) c.abort(new Error(reason));
  }
}

/** What `ctx.call` needs from the incoming request. */
export interface CallerOptions {
  caller: PluginCaller | undefined;
  /** The incoming `sy-principal` header ("" for none). */
  principalHeader: string;
  /** The incoming request carried `sy-nested: 1`. */
  nested: boolean;
}

/**
 * The `ctx` of one request. The abort signal and its deadline timer are made only when a handler
 * reads `ctx.signal`, so handlers that never look at it cost no timer.
 */
export class RequestContext implements PluginContext {
  readonly instanceId: string;
  readonly version: string;
  readonly requestId: string;
  readonly deadline: number;
  readonly principal: Principal;
  readonly options: Readonly<Record<string, unknown>>;
  readonly #baseLogger: Logger;
  readonly #clock: Clock;
  readonly #signals: SignalSet;
  readonly #calls: CallerOptions | undefined;
  readonly #trace: HandlerTrace | undefined;
  #logger: Logger | undefined;
  #controller: AbortController | undefined;
  #timer: unknown;
  #expired = false;
  /** Why the request was abandoned before its end (a stream's caller went away), if it was. */
  #abandoned: Error | undefined;

  constructor(
    init: {
      instanceId: string;
      version: string;
      requestId: string;
      deadline: number;
      principal: Principal;
      options: Readonly<Record<string, unknown>>;
    },
    logger: Logger,
    clock: Clock,
    signals: SignalSet,
    calls?: CallerOptions,
    trace?: HandlerTrace,
  ) {
    this.instanceId = init.instanceId;
    this.version = init.version;
    this.requestId = init.requestId;
    this.deadline = init.deadline;
    this.principal = init.principal;
    this.options = init.options;
    this.#baseLogger = logger;
    this.#clock = clock;
    this.#signals = signals;
    this.#calls = calls;
    this.#trace = trace;
  }

  /** This request's server span (a no-op span when tracing is off). */
  get span(): Span {
    return this.#trace?.span ?? NOOP_SPAN;
  }

  /** Calls another plugin over the bus with this request's deadline, id and principal. */
  call<T = unknown>(plugin: string, method: string, input?: unknown, options?: { version?: string }): Promise<T> {
    const calls = this.#calls;
    if (calls?.caller === undefined) {
      return Promise.reject(new SwitchyardError(ErrorCode.PluginUnavailable, "ctx.call is not available in this host"));
    }
    return calls.caller.call(plugin, method, input, {
      requestId: this.requestId,
      deadline: this.deadline,
      principalHeader: calls.principalHeader,
      principalId: this.principal.id,
      nested: calls.nested,
      trace: this.#trace,
      version: options?.version,
    }) as Promise<T>;
  }

  /** Streams `plugin.method`'s items over the bus with this request's deadline, id and principal. */
  stream<T = unknown>(plugin: string, method: string, input?: unknown, options?: { version?: string }): AsyncIterable<T> {
    const calls = this.#calls;
    if (calls?.caller === undefined) {
      const error = new SwitchyardError(ErrorCode.PluginUnavailable, "ctx.stream is not available in this host");
      return { [Symbol.asyncIterator]: () => ({ next: () => Promise.reject(error) }) };
    }
    return calls.caller.stream(plugin, method, input, {
      requestId: this.requestId,
      deadline: this.deadline,
      principalHeader: calls.principalHeader,
      principalId: this.principal.id,
      nested: calls.nested,
      trace: this.#trace,
      version: options?.version,
    }) as AsyncIterable<T>;
  }

  /** Aborts `signal` (now, or as soon as it is read) with `reason`: the caller of a stream went away. */
  abandon(reason: string): void {
    this.#abandoned ??= new Error(reason);
    this.#controller?.abort(this.#abandoned);
  }

  get logger(): Logger {
    const trace = this.#trace;
    return this.#logger ??= this.#baseLogger.child(
      trace === undefined ? { requestId: this.requestId } : { requestId: this.requestId, traceId: trace.span.spanContext().traceId },
    );
  }

  get signal(): AbortSignal {
    if (this.#controller === undefined) {
      const controller = new AbortController();
      this.#controller = controller;
      this.#signals.add(controller);
      const left = this.deadline - this.#clock.now();
      if (this.#abandoned !== undefined) {
        controller.abort(this.#abandoned);
      } else if (left <= 0) {
        this.#expired = true;
        controller.abort(new Error("deadline exceeded"));
      } else {
        this.#timer = this.#clock.setTimeout(() => {
          this.#expired = true;
          controller.abort(new Error("deadline exceeded"));
        }, left);
      }
    }
    return this.#controller.signal;
  }

  /**
   * True once the deadline passed: by the clock, or by the signal's timer (which may fire a
   * millisecond before the clock reaches the deadline).
   */
  get expired(): boolean {
    return this.#expired || this.#clock.now() >= this.deadline;
  }

  /** Releases the timer; called when the handler settles. */
  dispose(): void {
    if (this.#controller === undefined) return;
    this.#clock.clearTimeout(this.#timer);
    this.#signals.delete(this.#controller);
  }
}
