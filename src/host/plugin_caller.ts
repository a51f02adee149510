import semver from "semver";
import type { NatsConnection } from "@nats-io/nats-core";
import * as v from "valibot";
import type { Logger } from "../deps.ts";
import { systemClock } from "../deps.ts";
import { ErrorCode, isSwitchyardError, SwitchyardError } from "../errors.ts";
import {
  decodeWireError,
  H_DEADLINE,
  H_NESTED,
  H_PRINCIPAL,
  H_REQUEST_ID,
  META_IDEMPOTENT,
  META_PREFIX,
  META_PROTOCOL,
  RequestMux,
  SRV_PREFIX,
  WireHeaders,
} from "../bus/mod.ts";
import type { BusReply, InfoResponse } from "../bus/mod.ts";
import { DEFAULT_TIMEOUT_MS, ResilienceSchema } from "../config/mod.ts";
import { guardedRequest, ResiliencePolicies } from "../resilience/mod.ts";
import type { GuardedCall, Transport } from "../resilience/mod.ts";
import { METHOD_NAME, PLUGIN_NAME } from "../plugin/mod.ts";
import { context, trace } from "@opentelemetry/api";
import type { Tracer } from "@opentelemetry/api";
import { TracedCall } from "../telemetry/mod.ts";
import type { HandlerTrace } from "../telemetry/mod.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** How long a discovered target is trusted before `$SRV.INFO` is asked again. */
export const TARGET_TTL_MS = 30_000;
/** Discovery waits this long after the last INFO reply for more. */
const DISCOVERY_STALL_MS = 50;
const DISCOVERY_MAX_WAIT_MS = 1_000;

/** The request a `ctx.call` is made from. */
export interface CallerRequest {
  readonly requestId: string;
  /** Epoch ms: the callee gets the same absolute deadline. */
  readonly deadline: number;
  /** The incoming `sy-principal` header, passed on as is ("" for anonymous). */
  readonly principalHeader: string;
  /** The incoming request was itself a `ctx.call`: no retries from here. */
  readonly nested: boolean;
  /** The handler's span when tracing is on: the call's attempts get client spans under it. */
  readonly trace?: HandlerTrace | undefined;
}

interface Target {
  readonly version: string;
  readonly methods: ReadonlyMap<string, { subject: string; idempotent: boolean }>;
}

interface HostCall extends GuardedCall {
  subject: string;
  data: Uint8Array;
  traced: TracedCall | undefined;
}

/**
 * `ctx.call(plugin, method, input)`: plugin-to-plugin requests over the bus with the router's
 * policies (breaker per target plugin, retries for idempotent methods, deadline). The target is
 * found with `$SRV.INFO.<plugin>` and its highest version kept for {@linkcode TARGET_TTL_MS}
 * (forgotten at once when nobody answers). Every call carries `sy-nested: 1`; a handler serving a
 * nested request makes its own calls without retries, so retries never multiply down a chain.
 */
export class PluginCaller {
  readonly #nc: NatsConnection;
  readonly #prefix: string;
  readonly #logger: Logger;
  readonly #policies: ResiliencePolicies;
  readonly #targets = new Map<string, { at: number; target: Promise<Target> }>();
  readonly #tracer: Tracer | undefined;
  #mux: RequestMux | undefined;
  readonly #inboxPrefix: string | undefined;
  readonly #transport: Transport<HostCall> = {
    send: (call, timeoutMs) =>
      call.traced === undefined
        ? (this.#mux ??= new RequestMux(this.#nc, this.#inboxPrefix)).request(call.subject, call.data, { headers: call.headers, timeoutMs })
        : this.#sendTraced(call, call.traced, timeoutMs),
  };

  constructor(nc: NatsConnection, options: { prefix: string; logger: Logger; tracer?: Tracer | undefined; inboxPrefix?: string }) {
    this.#nc = nc;
    this.#inboxPrefix = options.inboxPrefix;
    this.#prefix = options.prefix;
    this.#logger = options.logger;
    this.#tracer = options.tracer;
    this.#policies = new ResiliencePolicies(
      { plugins: {}, resilience: v.parse(ResilienceSchema, {}), router: { timeoutMs: DEFAULT_TIMEOUT_MS } },
      { clock: systemClock, logger: options.logger },
    );
  }

  /**
   * Calls `plugin.method` with `input` on behalf of `from`.
   * @throws {SwitchyardError} the callee's code and status, or `plugin_not_found`, `method_not_found`,
   * `plugin_unavailable`, `circuit_open`, `timeout`.
   */
  async call(plugin: string, method: string, input: unknown, from: CallerRequest): Promise<unknown> {
    if (!PLUGIN_NAME.test(plugin)) throw new SwitchyardError(ErrorCode.PluginNotFound, "No such plugin");
    if (!METHOD_NAME.test(method)) throw new SwitchyardError(ErrorCode.MethodNotFound, `Plugin "${plugin}" has no method of that name`);
    if (Date.now() >= from.deadline) throw new SwitchyardError(ErrorCode.Timeout, "The deadline passed before the call");
    const target = await this.#target(plugin);
    const endpoint = target.methods.get(method);
    if (endpoint === undefined) throw new SwitchyardError(ErrorCode.MethodNotFound, `Plugin "${plugin}" has no method "${method}"`);
    const hdrs = new WireHeaders();
    hdrs.set(H_REQUEST_ID, from.requestId);
    hdrs.set(H_DEADLINE, String(from.deadline));
    hdrs.set(H_NESTED, "1");
    if (from.principalHeader !== "") hdrs.set(H_PRINCIPAL, from.principalHeader);
    let traced: TracedCall | undefined;
    if (this.#tracer !== undefined && from.trace !== undefined) {
      // Under the span active in the handler (one it started itself), if it belongs to this request's trace.
      const active = context.active();
      const span = trace.getSpan(active);
      const inTrace = span !== undefined && span.spanContext().traceId === from.trace.span.spanContext().traceId;
      traced = inTrace ? new TracedCall(this.#tracer, active, span) : new TracedCall(this.#tracer, from.trace.ctx, from.trace.span);
      traced.target({ plugin, method, version: target.version, subject: endpoint.subject });
    }
    let reply: BusReply;
    try {
      reply = await guardedRequest(
        this.#transport,
        this.#policies.plugin(plugin).method(method),
        {
          subject: endpoint.subject,
          data: encoder.encode(JSON.stringify(input ?? {})),
          headers: hdrs,
          deadline: from.deadline,
          mayRetry: endpoint.idempotent && !from.nested,
          observer: traced,
          traced,
        },
        systemClock,
      );
    } catch (err) {
      if (isSwitchyardError(err) && err.code === ErrorCode.PluginUnavailable) this.#targets.delete(plugin);
      throw err;
    }
    const failure = decodeWireError(reply.headers, reply.data);
    if (failure !== undefined) {
      throw new SwitchyardError(failure.code, failure.message || `"${plugin}.${method}" failed`, {
        status: failure.status,
        ...(failure.issues === undefined ? {} : { issues: failure.issues }),
      });
    }
    return reply.data.length === 0 ? undefined : JSON.parse(decoder.decode(reply.data));
  }

  async #sendTraced(call: HostCall, traced: TracedCall, timeoutMs: number): Promise<BusReply> {
    const span = traced.startAttempt(call.headers);
    traced.picked(undefined, call.subject);
    let reply: BusReply | undefined;
    try {
      reply = await (this.#mux ??= new RequestMux(this.#nc, this.#inboxPrefix)).request(call.subject, call.data, { headers: call.headers, timeoutMs });
      return reply;
    } catch (err) {
      traced.endAttempt(span, undefined, err);
      throw err;
    } finally {
      if (reply !== undefined) traced.endAttempt(span, reply, undefined);
    }
  }

  /** Stops the reply subscription. */
  close(): void {
    this.#mux?.close();
  }

  #target(plugin: string): Promise<Target> {
    const now = Date.now();
    const cached = this.#targets.get(plugin);
    if (cached !== undefined && now - cached.at < TARGET_TTL_MS) return cached.target;
    const target = this.#discover(plugin);
    this.#targets.set(plugin, { at: now, target });
    target.catch(() => this.#targets.delete(plugin));
    return target;
  }

  async #discover(plugin: string): Promise<Target> {
    let best: InfoResponse | undefined;
    try {
      const replies = await this.#nc.requestMany(`${SRV_PREFIX}.INFO.${plugin}`, undefined, {
        strategy: "stall",
        stall: DISCOVERY_STALL_MS,
        maxWait: DISCOVERY_MAX_WAIT_MS,
      });
      for await (const msg of replies) {
        let info: InfoResponse;
        try {
          info = JSON.parse(decoder.decode(msg.data)) as InfoResponse;
        } catch {
          continue;
        }
        const meta = info.metadata;
        if (meta?.[META_PROTOCOL] === undefined || (meta[META_PREFIX] ?? this.#prefix) !== this.#prefix) continue;
        if (info.name !== plugin || semver.valid(info.version) !== info.version) continue;
        if (best === undefined || semver.gt(info.version, best.version)) best = info;
      }
    } catch (err) {
      this.#logger.debug("discovery failed", { plugin, error: String(err) });
    }
    if (best === undefined) throw new SwitchyardError(ErrorCode.PluginUnavailable, `No instance of "${plugin}" is available`);
    const methods = new Map<string, { subject: string; idempotent: boolean }>();
    for (const endpoint of best.endpoints ?? []) {
      methods.set(endpoint.name, { subject: endpoint.subject, idempotent: endpoint.metadata?.[META_IDEMPOTENT] === "true" });
    }
    return { version: best.version, methods };
  }
}
