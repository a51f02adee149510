import type { Context } from "hono";
import { ErrorCode, SwitchyardError } from "../errors.ts";
import { PLUGIN_NAME } from "../bus/mod.ts";
import type { RouterLifecycle } from "./router_lifecycle.ts";
import type { ResolvedAdminOptions } from "./admin_options.ts";

/** What a reload from the dashboard came to. */
export interface ReloadOutcome {
  ok: boolean;
  /** One line for the page: the versions and instances, or why it failed. */
  message: string;
}

/** Replaces a plugin's instances blue-green (the CLI asks the supervisors over `<prefix>.$sup.reload.<plugin>`). */
export type ReloadAction = (plugin: string) => Promise<ReloadOutcome>;

/** What the actions need. */
export interface ActionParts {
  lifecycle: RouterLifecycle;
  admin: () => ResolvedAdminOptions;
  /** With auth on, the guard has already asked for an admin role: `admin.token` is for routers without auth. */
  authOn: boolean;
  reload: ReloadAction | undefined;
}

const encoder = new TextEncoder();

/** Which actions the page may offer: drain and resume need `admin.enabled`, reload a way to ask supervisors. */
export function availableActions(parts: ActionParts): { drain: boolean; reload: boolean; token: boolean } {
  const admin = parts.admin();
  return {
    drain: admin.enabled,
    reload: admin.enabled && parts.reload !== undefined,
    token: !parts.authOn && admin.token !== undefined,
  };
}

/**
 * `POST /dashboard/actions/:plugin/:action` (`drain`, `resume`, `reload`), behind the dashboard's
 * admin guard and `admin.enabled`, and `admin.token` on a router without auth. A browser posts
 * cross-site only simple requests, so a JSON content type (and, when sent, a same-origin
 * `Origin`) is required: another site's page cannot drain a plugin through a visitor's browser.
 * @returns the JSON answer, `{ plugin, action, ok, message, ... }`.
 * @throws {SwitchyardError} `not_found`, `unauthorized`, `forbidden`, `plugin_not_found`, `unsupported_media_type`.
 */
export async function runAction(c: Context, parts: ActionParts): Promise<Record<string, unknown>> {
  const admin = parts.admin();
  const action = c.req.param("action") ?? "";
  const plugin = c.req.param("plugin") ?? "";
  if (!admin.enabled || !["drain", "resume", "reload"].includes(action)) {
    throw new SwitchyardError(
      ErrorCode.NotFound,
      "No such action (drain, resume and reload need admin.enabled)",
    );
  }
  if (
    !parts.authOn && admin.token !== undefined &&
    !sameSecret(c.req.header("authorization") ?? "", `Bearer ${admin.token}`)
  ) {
    throw new SwitchyardError(ErrorCode.Unauthorized, "Actions need Authorization: Bearer <admin.token>", {
      headers: { "www-authenticate": 'Bearer realm="switchyard-admin"' },
    });
  }
  if (!(c.req.header("content-type") ?? "").startsWith("application/json")) {
    throw new SwitchyardError(ErrorCode.UnsupportedMediaType, "Actions need content-type: application/json");
  }
  const origin = c.req.header("origin");
  if (origin !== undefined && origin !== "null" && hostOf(origin) !== c.req.header("host")) {
    throw new SwitchyardError(ErrorCode.Forbidden, "Actions are taken from the dashboard's own origin");
  }
  const { lifecycle } = parts;
  if (!PLUGIN_NAME.test(plugin) || lifecycle.tracker.traffic(plugin) === undefined) {
    throw new SwitchyardError(ErrorCode.PluginNotFound, "No such plugin");
  }
  if (action === "resume") {
    const resumed = lifecycle.resumePlugin(plugin);
    return {
      plugin,
      action,
      ok: true,
      message: resumed ? `${plugin} is routed to again` : `${plugin} was not drained`,
    };
  }
  if (action === "drain") {
    const result = await lifecycle.drainPlugin(plugin);
    const message = result.drained
      ? `${plugin} drained (${result.inflightAtStart} in flight at the start, ${result.elapsedMs} ms); new requests get 503 draining until resumed`
      : `${plugin}: drain timed out with ${result.remaining} still in flight`;
    return { plugin, action, ok: result.drained, message, result };
  }
  if (parts.reload === undefined) {
    throw new SwitchyardError(ErrorCode.NotFound, "This router cannot ask supervisors to reload");
  }
  const outcome = await parts.reload(plugin);
  return { plugin, action, ...outcome };
}

function hostOf(origin: string): string | undefined {
  try {
    return new URL(origin).host;
  } catch {
    return undefined;
  }
}

/** Compares without leaking, through timing, how much of a secret matched. */
function sameSecret(given: string, expected: string): boolean {
  const a = encoder.encode(given);
  const b = encoder.encode(expected);
  let diff = a.length ^ b.length;
  for (let i = 0; i < b.length; i++) diff |= (a[i % Math.max(1, a.length)] ?? 0) ^ b[i]!;
  return diff === 0;
}
