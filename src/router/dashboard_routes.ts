import type { Context, Hono, MiddlewareHandler } from "hono";
import type { Logger } from "../deps.ts";
import { ErrorCode, SwitchyardError } from "../errors.ts";
import type { PeerInfo, RouterAuth } from "../auth/mod.ts";
import type { RequestPipeline } from "../pipeline/mod.ts";
import { traceTree } from "../telemetry/ring.ts";
import type { SpanRing } from "../telemetry/mod.ts";
import type { RouterAppSettings } from "./options.ts";
import type { RouterLifecycle } from "./router_lifecycle.ts";
import { errorResponse } from "./error_response.ts";
import { DashboardView } from "./dashboard_view.ts";
import { DashboardFeed } from "./dashboard_feed.ts";
import { DASHBOARD_CSS, DASHBOARD_HTML } from "./dashboard_page.ts";
import { DASHBOARD_SCRIPT } from "./dashboard_script.ts";
import { availableActions, runAction } from "./dashboard_actions.ts";
import type { ReloadAction } from "./dashboard_actions.ts";
import { serveOtlpReceiver } from "./dashboard_otlp.ts";
import type { OtlpForward } from "./dashboard_otlp.ts";

/** What the CLI gives the dashboard besides the router's own parts. */
export interface DashboardParts {
  /** The ring of recent spans: turns on the trace views, `/dashboard/api/traces` and `POST /v1/traces`. */
  spans?: SpanRing | undefined;
  /** Sends what plugins export on to the router's own collector. */
  forward?: OtlpForward | undefined;
  /** The reload action; without it the page offers none. */
  reload?: ReloadAction | undefined;
}

/** Options of {@linkcode serveDashboard}. */
export interface DashboardOptions {
  pipeline: RequestPipeline;
  lifecycle: RouterLifecycle;
  settings: () => RouterAppSettings;
  auth: RouterAuth | undefined;
  requestId: (incoming: string | null) => string;
  logger: Logger;
  parts?: DashboardParts | undefined;
}

/** Wraps the invoke handler so the dashboard sees each answer. */
export type AnswerObserver = (
  handler: (c: Context) => Promise<Response>,
) => (c: Context) => Promise<Response>;

/** Traces listed by `GET /dashboard/api/traces` at most. */
const MAX_LISTED = 200;
const PAGE_HEADERS = {
  "cache-control": "no-store",
  "x-content-type-options": "nosniff",
  // Only its own script, stylesheet and endpoints; no frames, so no clickjacking of the actions.
  "content-security-policy":
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
};

/**
 * `GET /dashboard` and what it reads: `/dashboard/events` (a snapshot a second over Server-Sent
 * Events), `/dashboard/api/snapshot`, `/dashboard/api/traces[/<trace or request id>]`, and
 * `POST /dashboard/actions/<plugin>/<drain|resume|reload>`; with a span ring, `POST /v1/traces`.
 * All of it is off with `router.dashboard: false` (read per request) and, with auth on, needs an
 * admin role.
 * @returns the observer the invoke route goes through, to count answers per plugin and instance.
 */
export function serveDashboard(app: Hono, options: DashboardOptions): AnswerObserver {
  const { pipeline, lifecycle, settings, auth, logger } = options;
  const parts = options.parts ?? {};
  const spans = parts.spans;
  const enabled = () => settings().router.dashboard !== false;
  const actionParts = {
    lifecycle,
    admin: () => settings().admin,
    authOn: auth !== undefined,
    reload: parts.reload,
  };
  const view = new DashboardView({
    pipeline,
    lifecycle,
    spans,
    actions: () => availableActions(actionParts),
  });
  const clock = pipeline.clock;
  const feed = new DashboardFeed(clock, () => view.snapshot(clock.now()), () => lifecycle.shuttingDown);
  const fail = (c: Context, err: unknown) =>
    errorResponse(err, options.requestId(c.req.header("x-request-id") ?? null), logger);

  const guard: MiddlewareHandler = async function dashboardGuard(c, next) {
    if (!enabled()) return fail(c, new SwitchyardError(ErrorCode.NotFound, "No such route"));
    if (auth !== undefined) {
      try {
        const found = auth.authenticate(c.req.raw, c.env as PeerInfo | undefined);
        auth.requireAdmin(found instanceof Promise ? await found : found);
      } catch (err) {
        return fail(c, err);
      }
    }
    await next();
  };
  // `/dashboard/*` covers `/dashboard` itself too.
  app.use("/dashboard/*", guard);
  const asset = (body: string, type: string) => () =>
    new Response(body, { headers: { "content-type": type, ...PAGE_HEADERS } });
  app.get("/dashboard", asset(DASHBOARD_HTML, "text/html; charset=utf-8"));
  app.get("/dashboard/app.js", asset(DASHBOARD_SCRIPT, "text/javascript; charset=utf-8"));
  app.get("/dashboard/app.css", asset(DASHBOARD_CSS, "text/css; charset=utf-8"));
  app.get("/dashboard/api/snapshot", (c) => c.json(view.snapshot(clock.now())));
  app.get("/dashboard/events", (c) => {
    const stream = feed.open();
    if (stream === undefined) {
      return fail(
        c,
        new SwitchyardError(ErrorCode.Overloaded, "Too many open dashboards", { retryAfter: 5 }),
      );
    }
    return new Response(stream, {
      headers: {
        "content-type": "text/event-stream",
        "cache-control": "no-store",
        "x-accel-buffering": "no",
      },
    });
  });
  app.get("/dashboard/api/traces", (c) => {
    if (spans === undefined) return fail(c, tracesOff());
    const limit = Math.min(MAX_LISTED, Math.max(1, Number(c.req.query("limit")) || 20));
    const traces = c.req.query("order") === "slowest" ? spans.slowest(limit) : spans.recent(limit);
    return c.json({ capacity: spans.capacity, size: spans.size, evicted: spans.evicted, traces });
  });
  app.get("/dashboard/api/traces/:id", (c) => {
    if (spans === undefined) return fail(c, tracesOff());
    const id = c.req.param("id");
    const traceId = spans.resolve(id);
    if (traceId === undefined) {
      return fail(
        c,
        new SwitchyardError(
          ErrorCode.NotFound,
          `No spans of trace or request "${
            id.slice(0, 64)
          }" in the router's ring (it keeps the last ${spans.capacity})`,
        ),
      );
    }
    const rows = traceTree(spans.trace(traceId));
    const start = Math.min(...rows.map((r) => r.span.startMs));
    const end = Math.max(...rows.map((r) => r.span.startMs + r.span.durationMs));
    const requestId = rows.map((r) =>
      r.span.attributes["switchyard.request_id"]
    ).find((v) => typeof v === "string") ?? "";
    return c.json({ traceId, requestId, startMs: start, durationMs: end - start, rows });
  });
  app.post("/dashboard/actions/:plugin/:action", async (c) => {
    try {
      return c.json(await runAction(c, actionParts));
    } catch (err) {
      return fail(c, err);
    }
  });
  if (spans !== undefined) {
    serveOtlpReceiver(app, { spans, forward: parts.forward, auth, requestId: options.requestId, logger });
  }

  return (handler) =>
    async function observed(c: Context): Promise<Response> {
      const started = performance.now();
      const res = await handler(c);
      if (!enabled()) return res;
      const h = res.headers;
      const requestId = h.get("x-request-id") ?? "";
      const answer = {
        plugin: c.req.param("plugin") ?? "",
        method: c.req.param("method") ?? "",
        status: res.status,
        code: "",
        ms: performance.now() - started,
        instance: h.get("x-plugin-instance") ?? "",
        version: h.get("x-plugin-version") ?? "",
        requestId,
        traceId: spans?.resolve(requestId) ?? "",
      };
      if (res.status < 400) view.stats.record(answer, clock.now());
      else {
        // The code is only in the error body: read from a copy, off the response's path.
        res.clone().json().then(
          (body: { error?: { code?: unknown } }) =>
            view.stats.record({ ...answer, code: String(body?.error?.code ?? "") }, clock.now()),
          () => view.stats.record(answer, clock.now()),
        );
      }
      return res;
    };
}

function tracesOff(): SwitchyardError {
  return new SwitchyardError(
    ErrorCode.NotFound,
    "The router keeps no traces: set router.traces.enabled (on in switchyard dev)",
  );
}
