import semver from "semver";
import { headers as natsHeaders } from "@nats-io/nats-core";
import type { Msg, MsgHdrs, NatsConnection } from "@nats-io/nats-core";
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
} from "../bus/mod.ts";
import type { InfoResponse } from "../bus/mod.ts";
import { DEFAULT_TIMEOUT_MS, ResilienceSchema } from "../config/mod.ts";
import { guardedRequest, ResiliencePolicies } from "../resilience/mod.ts";
import type { GuardedCall, Transport } from "../resilience/mod.ts";
import { METHOD_NAME, PLUGIN_NAME } from "../plugin/mod.ts";

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
}

interface Target {
  readonly version: string;
  readonly methods: ReadonlyMap<string, { subject: string; idempotent: boolean }>;
}

interface HostCall extends GuardedCall {
  subject: string;
  data: Uint8Array;
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
  #mux: RequestMux | undefined;
  readonly #inboxPrefix: string | undefined;
  readonly #transport: Transport<HostCall> = {
    send: (call, timeoutMs) =>
      (this.#mux ??= new RequestMux(this.#nc, this.#inboxPrefix)).request(call.subject, call.data, { headers: call.headers, timeoutMs }),
  };

  constructor(nc: NatsConnection, options: { prefix: string; logger: Logger; inboxPrefix?: string }) {
    this.#nc = nc;
    this.#inboxPrefix = options.inboxPrefix;
    this.#prefix = options.prefix;
    this.#logger = options.logger;
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
    const hdrs: MsgHdrs = natsHeaders();
    hdrs.set(H_REQUEST_ID, from.requestId);
    hdrs.set(H_DEADLINE, String(from.deadline));
    hdrs.set(H_NESTED, "1");
    if (from.principalHeader !== "") hdrs.set(H_PRINCIPAL, from.principalHeader);
    let reply: Msg;
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
