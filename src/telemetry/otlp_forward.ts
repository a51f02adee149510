import type { Logger } from "../deps.ts";
import { redactUrl } from "./redact.ts";

type Env = Readonly<Record<string, string | undefined>>;

/** Set on exports the router forwards, so an export that comes back to a router is not sent on again. */
export const FORWARDED_HEADER = "x-switchyard-forwarded";
/** Forwards in flight at most; more are dropped (as the SDK's own queue drops spans when full). */
export const MAX_FORWARDS_IN_FLIGHT = 4;
const FORWARD_TIMEOUT_MS = 10_000;
/** A failing collector is reported at most once in this interval. */
const WARN_INTERVAL_MS = 60_000;

/**
 * Sends an OTLP/HTTP export on, unchanged, to the collector the standard `OTEL_*` variables name
 * for this process (`OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`, or `OTEL_EXPORTER_OTLP_ENDPOINT` +
 * `/v1/traces`, with `..._HEADERS`): the router receives its plugins' spans for its ring and
 * passes them on, so a configured backend still sees every process. Off the request path: at most
 * {@linkcode MAX_FORWARDS_IN_FLIGHT} at a time, the rest dropped.
 * @returns `undefined` when no OTLP/HTTP endpoint is configured (or it is gRPC, which a body cannot be forwarded to).
 */
export function otlpForwarder(
  env: Env,
  logger: Logger,
): ((body: Uint8Array, contentType: string) => void) | undefined {
  if (env.OTEL_SDK_DISABLED?.toLowerCase() === "true") return undefined;
  const exporters = env.OTEL_TRACES_EXPORTER?.split(",").map((s) => s.trim()).filter((s) => s !== "") ?? [];
  if (exporters.length > 0 && !exporters.includes("otlp")) return undefined;
  const protocol = env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL?.trim() ||
    env.OTEL_EXPORTER_OTLP_PROTOCOL?.trim() || "http/protobuf";
  if (protocol === "grpc") return undefined;
  const own = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?.trim();
  const base = env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim();
  const url = own || (base ? `${base.replace(/\/+$/, "")}/v1/traces` : undefined);
  if (url === undefined) return undefined;
  const headers = parseHeaders(env.OTEL_EXPORTER_OTLP_TRACES_HEADERS ?? env.OTEL_EXPORTER_OTLP_HEADERS ?? "");
  let inFlight = 0;
  let dropped = 0;
  let warnedAt = -Infinity;
  const warn = (problem: string) => {
    const now = Date.now();
    if (now - warnedAt < WARN_INTERVAL_MS) return;
    warnedAt = now;
    logger.warn("forwarding plugin spans failed", { endpoint: redactUrl(url), problem, dropped });
  };
  return (body, contentType) => {
    if (inFlight >= MAX_FORWARDS_IN_FLIGHT) {
      dropped++;
      return;
    }
    inFlight++;
    fetch(url, {
      method: "POST",
      headers: { ...headers, "content-type": contentType, [FORWARDED_HEADER]: "1" },
      body: body as Uint8Array<ArrayBuffer>,
      signal: AbortSignal.timeout(FORWARD_TIMEOUT_MS),
    }).then(
      async (res) => {
        await res.body?.cancel();
        if (!res.ok) warn(`HTTP ${res.status}`);
      },
      (err: unknown) => warn(err instanceof Error ? err.message : String(err)),
    ).finally(() => inFlight--);
  };
}

/** `k1=v1,k2=v2` with URL-encoded values, as `OTEL_EXPORTER_OTLP_HEADERS` is written. */
function parseHeaders(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of text.split(",")) {
    const at = pair.indexOf("=");
    if (at <= 0) continue;
    try {
      out[decodeURIComponent(pair.slice(0, at).trim())] = decodeURIComponent(pair.slice(at + 1).trim());
    } catch {
      // a malformed pair is skipped, as the SDK does
    }
  }
  return out;
}
