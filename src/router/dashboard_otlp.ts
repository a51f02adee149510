import type { Hono } from "hono";
import type { Logger } from "../deps.ts";
import { ErrorCode, SwitchyardError } from "../errors.ts";
import type { PeerInfo, RouterAuth } from "../auth/mod.ts";
import { decodeOtlpJson, decodeOtlpProtobuf, FORWARDED_HEADER } from "../telemetry/ring.ts";
import type { SpanRecord, SpanRing } from "../telemetry/mod.ts";
import { errorResponse } from "./error_response.ts";
import { readBody } from "./read_body.ts";

/** The path OTLP/HTTP exporters post traces to (`OTEL_EXPORTER_OTLP_ENDPOINT` + `/v1/traces`). */
export const OTLP_TRACES_PATH = "/v1/traces";
/** An export's body at most: the SDK's batches of 512 spans stay well under it. */
export const OTLP_BODY_LIMIT_BYTES = 4 * 1024 * 1024;

/** Sends an export on, as received (the collector the router itself exports to). */
export type OtlpForward = (body: Uint8Array, contentType: string) => void;

/** What the receiver needs. */
export interface OtlpReceiverParts {
  spans: SpanRing;
  forward?: OtlpForward | undefined;
  /** With auth on, an export needs credentials like any other route (any principal). */
  auth?: RouterAuth | undefined;
  requestId: (incoming: string | null) => string;
  logger: Logger;
}

const decoder = new TextDecoder();

/**
 * `POST /v1/traces`: the router as a small OTLP/HTTP trace receiver, so plugins (and anything else
 * exporting OTLP) can put their spans beside the router's own in its ring, for the dashboard and
 * `switchyard trace`. It takes `application/json` (what `switchyard dev` has plugins send: cheaper
 * to write and to read) and `application/x-protobuf` (the exporters' default), uncompressed;
 * every span is checked and cut to the ring's limits. With `forward`, the body also goes on to the
 * router's own collector, so a configured backend still gets the plugins' spans.
 */
export function serveOtlpReceiver(app: Hono, parts: OtlpReceiverParts): void {
  const { spans, forward, auth, logger } = parts;
  app.post(OTLP_TRACES_PATH, async function otlpTraces(c) {
    const requestId = parts.requestId(c.req.header("x-request-id") ?? null);
    try {
      if (auth !== undefined) {
        const found = auth.authenticate(c.req.raw, c.env as PeerInfo | undefined);
        if (found instanceof Promise) await found;
      }
      const type = (c.req.header("content-type") ?? "").split(";", 1)[0]!.trim().toLowerCase();
      const json = type === "application/json";
      if (!json && type !== "application/x-protobuf") {
        throw new SwitchyardError(
          ErrorCode.UnsupportedMediaType,
          "OTLP traces as application/json or application/x-protobuf",
        );
      }
      const encoding = c.req.header("content-encoding");
      if (encoding !== undefined && encoding !== "identity") {
        throw new SwitchyardError(ErrorCode.UnsupportedMediaType, "Send OTLP exports uncompressed");
      }
      const body = await readBody(c.req.raw, OTLP_BODY_LIMIT_BYTES);
      let decoded: SpanRecord[];
      try {
        decoded = json ? decodeOtlpJson(JSON.parse(decoder.decode(body))) : decodeOtlpProtobuf(body);
      } catch {
        throw new SwitchyardError(
          ErrorCode.InvalidRequest,
          "The body is not an OTLP ExportTraceServiceRequest",
        );
      }
      for (const span of decoded) spans.push(span);
      if (forward !== undefined && c.req.header(FORWARDED_HEADER) === undefined) forward(body, type);
      return json
        ? new Response("{}", { headers: { "content-type": "application/json" } })
        : new Response(null, { headers: { "content-type": "application/x-protobuf" } });
    } catch (err) {
      return errorResponse(err, requestId, logger);
    }
  });
}
