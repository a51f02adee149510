import type { NatsConnection } from "@nats-io/nats-core";
import * as v from "valibot";
import { context, trace } from "@opentelemetry/api";
import type { Tracer } from "@opentelemetry/api";
import type { Clock, Logger } from "../deps.ts";
import { systemClock } from "../deps.ts";
import { ErrorCode, SwitchyardError } from "../errors.ts";
import { H_CHUNKS, H_DEADLINE, H_IDLE, H_NESTED, H_PRINCIPAL, H_REQUEST_ID, RequestMux, WireHeaders, wireErrorOf } from "../bus/mod.ts";
import type { BusReply } from "../bus/mod.ts";
import { Registry, startDiscovery } from "../registry/mod.ts";
import type { Discovery } from "../registry/mod.ts";
import { RequestPipeline } from "../pipeline/mod.ts";
import type { Call, PipelineSettings, Target } from "../pipeline/mod.ts";
import { BalancingOptionsSchema } from "../balancing/mod.ts";
import { DEFAULT_TIMEOUT_MS, ResilienceSchema } from "../resilience/mod.ts";
import { TracedCall } from "../telemetry/mod.ts";
import type { HandlerTrace } from "../telemetry/mod.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** The request a `ctx.call` is made from. */
export interface CallerRequest {
  readonly requestId: string;
  /** Epoch ms: the callee gets the same absolute deadline. */
  readonly deadline: number;
  /** The incoming `sy-principal` header, passed on as is ("" for anonymous). */
  readonly principalHeader: string;
  /** The caller's principal id: whose rate-limit bucket the call takes from. */
  readonly principalId: string;
  /** The incoming request was itself a `ctx.call`: no retries from here. */
  readonly nested: boolean;
  /** The handler's span when tracing is on: the call's attempts get client spans under it. */
  readonly trace?: HandlerTrace | undefined;
  /** A semver range for the callee, as `x-plugin-version` is for the router. */
  readonly version?: string | undefined;
}

/** Options of {@linkcode PluginCaller}. */
export interface PluginCallerOptions {
  prefix: string;
  logger: Logger;
  tracer?: Tracer | undefined;
  /** The connection's inbox prefix, for the replies (where permissions pin it). */
  inboxPrefix?: string | undefined;
  /**
   * Routing of calls: the callee's version rules and canary, policies, balancing, read from the
   * same config keys as the router's (`plugins.<callee>`, `resilience`, `balancing`).
   * @default the defaults of those keys
   */
  settings?: PipelineSettings | undefined;
  clock?: Clock;
}

/** The routing settings when none are given: every key's default. */
export function defaultPipelineSettings(): PipelineSettings {
  return { timeoutMs: DEFAULT_TIMEOUT_MS, resilience: v.parse(ResilienceSchema, {}), balancing: v.parse(BalancingOptionsSchema, {}), plugins: {} };
}

/**
 * `ctx.call(plugin, method, input)`: plugin-to-plugin requests through the same request pipeline
 * as the router's (version rules and canaries, the balancer and outlier ejection, breaker,
 * retries for idempotent methods, the deadline), over a registry of only the plugins this one
 * calls, discovered and proven the way the router does. The input is checked against the
 * callee's discovered schema before it leaves. Every call carries `sy-nested: 1`; a handler
 * serving a nested request makes its own calls without retries, so retries never multiply down a chain.
 */
export class PluginCaller {
  readonly #nc: NatsConnection;
  readonly #options: PluginCallerOptions;
  readonly #clock: Clock;
  #parts: { pipeline: RequestPipeline; discovery: Discovery } | undefined;

  constructor(nc: NatsConnection, options: PluginCallerOptions) {
    this.#nc = nc;
    this.#options = options;
    this.#clock = options.clock ?? systemClock;
  }

  /**
   * Calls `plugin.method` with `input` on behalf of `from`; resolves with the callee's output.
   * @throws {SwitchyardError} the callee's code and status, or `plugin_not_found`, `method_not_found`,
   * `validation_failed`, `no_matching_version`, `plugin_unavailable`, `circuit_open`, `timeout`,
   * `invalid_request` for a streaming method (use {@linkcode PluginCaller.stream}); a bus error
   * (`src/bus/bus_errors.ts`) when no reply came.
   */
  async call(plugin: string, method: string, input: unknown, from: CallerRequest): Promise<unknown> {
    const { pipeline, target, call } = await this.#prepare(plugin, method, input, from);
    if (target.method.stream) {
      throw new SwitchyardError(ErrorCode.InvalidRequest, `"${plugin}.${method}" streams its output: use ctx.stream`);
    }
    const reply = await pipeline.send(target, call);
    if (reply.status !== 0) throw replyError(reply, plugin, method);
    return reply.data.length === 0 ? undefined : JSON.parse(decoder.decode(reply.data));
  }

  /**
   * Streams `plugin.method`'s items on behalf of `from`: pulled as the loop asks for them (the
   * callee produces no faster), with the deadline of `from` and the idle timeout of the callee's
   * policies. Leaving the loop early cancels the stream at the callee. A unary method's output is
   * the one item.
   * @throws what {@linkcode PluginCaller.call} throws, from the loop; after some items, the
   * callee's error, `timeout`, or `plugin_unavailable`.
   */
  stream(plugin: string, method: string, input: unknown, from: CallerRequest): AsyncIterable<unknown> {
    return { [Symbol.asyncIterator]: () => this.#items(plugin, method, input, from) };
  }

  async *#items(plugin: string, method: string, input: unknown, from: CallerRequest): AsyncGenerator<unknown, void, undefined> {
    const { pipeline, target, call } = await this.#prepare(plugin, method, input, from);
    if (!target.method.stream) {
      const reply = await pipeline.send(target, call);
      if (reply.status !== 0) throw replyError(reply, plugin, method);
      yield reply.data.length === 0 ? undefined : JSON.parse(decoder.decode(reply.data));
      return;
    }
    const stream = await pipeline.openStream(target, call, { idleMs: target.policies.streamIdleMs });
    try {
      for (let reply = stream.first as BusReply | undefined; reply !== undefined; reply = await stream.next()) {
        if (reply.status !== 0) throw replyError(reply, plugin, method);
        if (reply.data.length > 0) for (const line of decoder.decode(reply.data).split("\n")) yield JSON.parse(line);
      }
    } finally {
      if (!stream.done) stream.cancel("the caller stopped reading");
    }
  }

  /** Steps 1 and 2 of the pipeline, and the call to send: routing, admission, the input checked. */
  async #prepare(plugin: string, method: string, input: unknown, from: CallerRequest): Promise<{ pipeline: RequestPipeline; target: Target; call: Call }> {
    if (this.#clock.now() >= from.deadline) throw new SwitchyardError(ErrorCode.Timeout, "The deadline passed before the call");
    const { pipeline, discovery } = this.#parts ??= this.#start();
    if (pipeline.registry.get(plugin) === undefined) await discovery.watch(plugin);
    const target = await pipeline.resolveArriving(plugin, method, from.version);
    pipeline.admit(target, from.principalId);
    const text = JSON.stringify(input ?? {});
    const issues = target.method.validate(JSON.parse(text));
    if (issues !== undefined) {
      throw new SwitchyardError(ErrorCode.ValidationFailed, `The input of "${plugin}.${method}" does not match its schema`, { issues });
    }
    const headers = new WireHeaders();
    headers.set(H_REQUEST_ID, from.requestId);
    headers.set(H_DEADLINE, String(from.deadline));
    headers.set(H_NESTED, "1");
    headers.set(H_CHUNKS, "1");
    if (target.method.stream) headers.set(H_IDLE, String(target.policies.streamIdleMs));
    if (from.principalHeader !== "") headers.set(H_PRINCIPAL, from.principalHeader);
    let traced: TracedCall | undefined;
    const tracer = this.#options.tracer;
    if (tracer !== undefined && from.trace !== undefined) {
      // Under the span active in the handler (one it started itself), if it belongs to this request's trace.
      const active = context.active();
      const span = trace.getSpan(active);
      const inTrace = span !== undefined && span.spanContext().traceId === from.trace.span.spanContext().traceId;
      traced = inTrace ? new TracedCall(tracer, active, span) : new TracedCall(tracer, from.trace.ctx, from.trace.span);
      traced.target(target);
    }
    const call: Call = {
      data: encoder.encode(text),
      headers,
      deadline: from.deadline,
      mayRetry: target.method.idempotent && !from.nested,
      observer: traced,
    };
    return { pipeline, target, call };
  }

  /** Stops discovery and the reply subscription. */
  close(): void {
    this.#parts?.discovery.stop();
    this.#parts?.pipeline.close();
    this.#parts?.pipeline.mux.close();
  }

  #start(): { pipeline: RequestPipeline; discovery: Discovery } {
    const { prefix, logger } = this.#options;
    const clock = this.#clock;
    const registry = new Registry(prefix);
    const mux = new RequestMux(this.#nc, { inboxPrefix: this.#options.inboxPrefix, clock });
    const settings = this.#options.settings ?? defaultPipelineSettings();
    const pipeline = new RequestPipeline({ registry, mux, settings, clock, logger, onRemoved: (i) => discovery.recheck(i.plugin, i.id) });
    const discovery = startDiscovery(this.#nc, registry, {
      prefix,
      mux,
      watchOnly: true,
      onGone: (instance, why) => pipeline.instanceGone(instance, why === "lost" ? "its supervisor reported it dead" : "it reconnected"),
    }, { clock, logger });
    return { pipeline, discovery };
  }
}

/** The callee's error reply as the error `ctx.call` and `ctx.stream` throw. */
function replyError(reply: BusReply, plugin: string, method: string): SwitchyardError {
  const failure = wireErrorOf(reply);
  return new SwitchyardError(failure.code, failure.message || `"${plugin}.${method}" failed`, {
    status: failure.status,
    ...(failure.issues === undefined ? {} : { issues: failure.issues }),
  });
}
