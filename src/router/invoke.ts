import type { Context } from "hono";
import { ErrorCode, isSwitchyardError, SwitchyardError } from "../errors.ts";
import type { Clock, Logger } from "../deps.ts";
import { systemClock } from "../deps.ts";
import { guardedRequest, ResiliencePolicies } from "../resilience/mod.ts";
import type { GuardedCall, Transport } from "../resilience/mod.ts";
import { decodeWireError, H_DEADLINE, H_INSTANCE, H_PRINCIPAL, H_REQUEST_ID, H_VERSION, WireHeaders } from "../bus/mod.ts";
import type { Authenticated, PeerInfo, RouterAuth } from "../auth/mod.ts";
import type { BusReply, RequestMux, WireError } from "../bus/mod.ts";
import type { MethodEntry, Registry, VersionEntry } from "../registry/mod.ts";
import { METHOD_NAME, PLUGIN_NAME } from "../plugin/mod.ts";
import type { ResolvedConfig } from "../config/mod.ts";
import type { LoadBalancer, VersionRules } from "../balancing/mod.ts";
import { RouterTelemetry } from "../telemetry/mod.ts";
import type { MethodSeries, RequestTrace } from "../telemetry/mod.ts";
import { ReadDeadlines, readBody } from "./read_body.ts";
import { initHeadersResponse } from "../runtime/types.ts";
import type { ResponseFactory } from "../runtime/types.ts";
import { errorResponse } from "./error_response.ts";
import { methodNotFound, pluginNotFound } from "./not_found.ts";

const decoder = new TextDecoder();

export interface InvokeOptions {
  registry: Registry;
  mux: RequestMux;
  config: ResolvedConfig;
  logger: Logger;
  requestId: (incoming: string | null) => string;
  /** Picks the instance and keeps per-instance counters (src/balancing/). */
  balancer: LoadBalancer;
  /** Config version rules and canary splits for requests without `x-plugin-version`. */
  versions: VersionRules;
  /** Rate limit, breaker, bulkhead, retry per plugin (src/resilience/). @default built from `config` */
  policies?: ResiliencePolicies;
  clock?: Clock;
  /** Builds the 200 responses. @default headers in the init */
  respond?: ResponseFactory;
  /** Metrics, traces and access log (src/telemetry/). @default none: a scratch series, no spans */
  telemetry?: RouterTelemetry;
  /** Authentication and grants; without it every caller is anonymous and may call everything. */
  auth?: RouterAuth | undefined;
}

/** One routed request, as the resilience pipeline hands it to the balancer. */
interface RouterCall extends GuardedCall {
  plugin: string;
  version: VersionEntry;
  method: MethodEntry;
  data: Uint8Array;
  /** Present when tracing is on: each attempt gets a client span. */
  trace: RequestTrace | undefined;
}

/** Whose rate-limit bucket a request takes from without auth. */
const ANONYMOUS_PRINCIPAL = "anonymous";
/** Requests with this header may be retried even when the method is not idempotent. */
const IDEMPOTENCY_KEY = "idempotency-key";
const FALLBACK_HEADERS = { "content-type": "application/json", "x-fallback": "circuit_open" };

/**
 * `POST /v1/:plugin/:method`: checks names against the registry, reads and validates the body,
 * and forwards the original bytes over NATS; the plugin's reply bytes go back untouched.
 */
export function createInvokeHandler(options: InvokeOptions): (c: Context) => Promise<Response> {
  const { registry, config, logger, balancer, versions } = options;
  const auth = options.auth;
  const deadlines = new ReadDeadlines();
  const clock = options.clock ?? systemClock;
  const policies = options.policies ?? new ResiliencePolicies(config, { clock, logger });
  const respond = options.respond ?? initHeadersResponse;
  const telemetry = options.telemetry ?? new RouterTelemetry({ logger });
  // One transport for every request; the tag lets a plugin drain find its requests in the mux.
  const transport: Transport<RouterCall> = {
    send: (call, timeoutMs) =>
      call.trace === undefined
        ? balancer.request(call.plugin, call.version, call.method, call.data, { headers: call.headers, timeoutMs, tag: call.plugin })
        : call.trace.send(balancer, call, timeoutMs),
  };

  return async function invoke(c: Context): Promise<Response> {
    const started = performance.now();
    const req = c.req.raw;
    const requestId = options.requestId(req.headers.get("x-request-id"));
    const trace = telemetry.begin(req, requestId);
    const plugin = c.req.param("plugin") ?? "";
    let series: MethodSeries | undefined;
    let code = "";
    let res!: Response;
    try {
      // Before anything else, the body above all: an unknown caller costs no read and learns nothing.
      let who: Authenticated | undefined;
      if (auth !== undefined) {
        const found = auth.authenticate(req, c.env as PeerInfo | undefined);
        who = found instanceof Promise ? await found : found;
      }
      // A plugin or method the caller may not call answers exactly as one that does not exist.
      if (who !== undefined && !auth!.maySee(who, plugin)) throw pluginNotFound(plugin);
      const range = req.headers.get("x-plugin-version") ?? versions.rangeFor(registry, plugin) ?? null;
      const { version, method } = route(registry, plugin, c.req.param("method") ?? "", range);
      if (who !== undefined && !auth!.mayCall(who, plugin, method.name)) throw methodNotFound(plugin, method.name);
      series = telemetry.enter(plugin, method.name, trace, version, method);
      const guard = policies.plugin(plugin).method(method.name);
      const limiter = guard.plugin.rateLimiter;
      if (limiter !== undefined) {
        const waitMs = limiter.take(who === undefined ? ANONYMOUS_PRINCIPAL : who.principal.id);
        if (waitMs > 0) throw limiter.rejection(waitMs);
      }
      // Read per request: a config reload may change the limit and the timeout.
      const body = await readBody(req, config.router.bodyLimitBytes, deadlines, config.router.requestTimeoutMs);
      checkInput(method, body);
      const deadline = clock.now() + guard.timeoutMs;
      const hdrs = new WireHeaders();
      hdrs.set(H_REQUEST_ID, requestId);
      hdrs.set(H_DEADLINE, String(deadline));
      if (who !== undefined) hdrs.set(H_PRINCIPAL, who.header);
      const idempotencyKey = req.headers.get(IDEMPOTENCY_KEY);
      if (idempotencyKey !== null) hdrs.set(IDEMPOTENCY_KEY, idempotencyKey);
      let reply: BusReply | undefined;
      try {
        reply = await guardedRequest(
          transport,
          guard,
          {
            headers: hdrs,
            deadline,
            mayRetry: method.idempotent || idempotencyKey !== null,
            observer: trace ?? series.plugin,
            plugin,
            version,
            method,
            data: body,
            trace,
          },
          clock,
        );
      } catch (err) {
        if (guard.fallback !== undefined && isSwitchyardError(err) && err.code === ErrorCode.CircuitOpen) {
          res = new Response(guard.fallback as Uint8Array<ArrayBuffer>, { status: 200, headers: { ...FALLBACK_HEADERS, "x-request-id": requestId } });
        } else throw err;
      }
      if (reply !== undefined) {
        const replyHeaders = reply.headers;
        const servedVersion = replyHeaders?.get(H_VERSION) || version.version;
        const servedInstance = replyHeaders?.get(H_INSTANCE) ?? "";
        const failure = decodeWireError(replyHeaders, reply.data);
        if (failure !== undefined) {
          code = failure.code;
          const served = { "x-plugin-version": servedVersion, "x-plugin-instance": servedInstance };
          res = errorResponse(fromPlugin(failure), requestId, logger, served);
        } else {
          res = respond(reply.data, {
            "content-type": "application/json",
            "x-request-id": requestId,
            "x-plugin-version": servedVersion,
            "x-plugin-instance": servedInstance,
          });
        }
      }
    } catch (err) {
      code = isSwitchyardError(err) ? err.code : ErrorCode.Internal;
      res = errorResponse(err, requestId, trace === undefined ? logger : logger.child({ traceId: trace.span.spanContext().traceId }));
    }
    series ??= telemetry.unrouted(plugin, registry.get(plugin) !== undefined);
    telemetry.finish(series, res, code, started, trace, requestId);
    return res;
  };
}

/** Finds the version and method; names that fail the grammars can't be registered, so they are not found. */
function route(
  registry: Registry,
  plugin: string,
  methodName: string,
  range: string | null,
): { version: VersionEntry; method: MethodEntry } {
  if (!PLUGIN_NAME.test(plugin)) throw pluginNotFound(plugin);
  let version: VersionEntry | null | undefined;
  try {
    version = registry.pick(plugin, range ?? undefined);
  } catch (err) {
    throw new SwitchyardError(ErrorCode.InvalidRequest, `x-plugin-version: ${(err as Error).message}`);
  }
  if (version === undefined) throw pluginNotFound(plugin);
  if (version === null) {
    if (range === null || registry.knows(plugin, range)) {
      throw new SwitchyardError(ErrorCode.PluginUnavailable, `No instance of "${plugin}" is available`);
    }
    throw new SwitchyardError(ErrorCode.NoMatchingVersion, `No version of "${plugin}" matches "${range.slice(0, 100)}"`);
  }
  const method = METHOD_NAME.test(methodName) ? version.methods.get(methodName) : undefined;
  if (method === undefined) throw methodNotFound(plugin, methodName);
  return { version, method };
}

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

/** A plugin's error reply as the client sees it: 4xx, 503 and 504 keep their status, the rest is 502. */
function fromPlugin(err: WireError): SwitchyardError {
  const status = (err.status >= 400 && err.status < 500) || err.status === 503 || err.status === 504 ? err.status : 502;
  return new SwitchyardError(err.code, err.message || "The plugin failed", {
    status,
    ...(err.issues === undefined ? {} : { issues: err.issues }),
  });
}
