import { Hono } from "hono";
import * as v from "valibot";
import type { Logger } from "../deps.ts";
import { ErrorCode, SwitchyardError } from "../errors.ts";
import type { DrainProgress, DrainResult, RouterLifecycle } from "./router_lifecycle.ts";
import type { ResolvedAdminOptions } from "./admin_options.ts";
import { PLUGIN_NAME } from "../bus/mod.ts";
import { errorResponse } from "./error_response.ts";
import { readBody } from "./read_body.ts";

/** Options of {@linkcode createAdminRoutes}. */
export interface AdminRoutesOptions {
  lifecycle: RouterLifecycle;
  /** Read on every admin request, so a config reload applies (e.g. a new token). */
  settings: () => ResolvedAdminOptions;
  requestId: (incoming: string | null) => string;
  logger: Logger;
}

const DrainBodySchema = v.strictObject({
  timeoutMs: v.optional(v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(3_600_000))),
  force: v.optional(v.boolean()),
});
const NDJSON = "application/x-ndjson";
const encoder = new TextEncoder();

/**
 * The `/admin` routes, all behind one guard (the one place where authorization of admin calls
 * belongs): `GET /admin/inflight`, `POST /admin/plugins/:name/drain` (JSON `{timeoutMs?, force?}`;
 * with `Accept: application/x-ndjson` it streams progress lines before the result),
 * `POST /admin/plugins/:name/resume`.
 */
export function createAdminRoutes(options: AdminRoutesOptions): Hono {
  const { lifecycle, logger } = options;
  const admin = new Hono();
  const fail = (c: { req: { header(name: string): string | undefined } }, err: SwitchyardError, extra?: Record<string, string>) =>
    errorResponse(err, options.requestId(c.req.header("x-request-id") ?? null), logger, extra);

  admin.use("*", async function adminGuard(c, next) {
    const settings = options.settings();
    if (!settings.enabled) return fail(c, new SwitchyardError(ErrorCode.NotFound, "Admin routes are off (config admin.enabled)"));
    if (settings.token !== undefined && !sameSecret(c.req.header("authorization") ?? "", `Bearer ${settings.token}`)) {
      return fail(c, new SwitchyardError(ErrorCode.Unauthorized, "Admin routes need Authorization: Bearer <admin.token>"), {
        "www-authenticate": 'Bearer realm="switchyard-admin"',
      });
    }
    await next();
  });

  admin.get("/inflight", (c) => c.json({ ...lifecycle.tracker.snapshot(), shuttingDown: lifecycle.shuttingDown }));

  admin.post("/plugins/:name/drain", async (c) => {
    const name = c.req.param("name");
    if (!PLUGIN_NAME.test(name) || lifecycle.tracker.traffic(name) === undefined) {
      return fail(c, new SwitchyardError(ErrorCode.PluginNotFound, "No such plugin"));
    }
    let body: v.InferOutput<typeof DrainBodySchema>;
    try {
      const bytes = await readBody(c.req.raw, 4_096);
      const parsed = v.safeParse(DrainBodySchema, bytes.length === 0 ? {} : JSON.parse(new TextDecoder().decode(bytes)));
      if (!parsed.success) {
        const issues = parsed.issues.map((i) => ({ path: v.getDotPath(i) ?? "", message: i.message }));
        return fail(c, new SwitchyardError(ErrorCode.ValidationFailed, "The body must be {timeoutMs?, force?}", { issues }));
      }
      body = parsed.output;
    } catch (err) {
      return fail(c, err instanceof SwitchyardError ? err : new SwitchyardError(ErrorCode.InvalidJson, "The body is not valid JSON"));
    }
    const drainOptions = {
      ...(body.timeoutMs === undefined ? {} : { timeoutMs: body.timeoutMs }),
      ...(body.force === undefined ? {} : { force: body.force }),
    };
    if (!(c.req.header("accept") ?? "").includes(NDJSON)) return c.json(await lifecycle.drainPlugin(name, drainOptions));
    // Progress lines while waiting, then the result: a drain can take as long as the slowest request.
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        const line = (value: ({ type: "progress" } & DrainProgress) | ({ type: "result" } & DrainResult)) => {
          try {
            controller.enqueue(encoder.encode(`${JSON.stringify(value)}\n`));
          } catch {
            // the client went away; the drain goes on
          }
        };
        lifecycle.drainPlugin(name, { ...drainOptions, onProgress: (p) => line({ type: "progress", ...p }) }).then(
          (result) => {
            line({ type: "result", ...result });
            try {
              controller.close();
            } catch {
              // already cancelled by the client
            }
          },
          (err) => {
            try {
              controller.error(err);
            } catch {
              // already cancelled by the client
            }
          },
        );
      },
    });
    return new Response(stream, { status: 200, headers: { "content-type": NDJSON } });
  });

  admin.post("/plugins/:name/resume", (c) => {
    const name = c.req.param("name");
    if (!PLUGIN_NAME.test(name) || lifecycle.tracker.traffic(name) === undefined) {
      return fail(c, new SwitchyardError(ErrorCode.PluginNotFound, "No such plugin"));
    }
    return c.json({ plugin: name, resumed: lifecycle.resumePlugin(name) });
  });

  return admin;
}

/** Compares without leaking, through timing, how much of a secret matched. */
function sameSecret(given: string, expected: string): boolean {
  const a = encoder.encode(given);
  const b = encoder.encode(expected);
  let diff = a.length ^ b.length;
  for (let i = 0; i < b.length; i++) diff |= (a[i % Math.max(1, a.length)] ?? 0) ^ b[i]!;
  return diff === 0;
}
