import type { Hono } from "hono";
import type { Logger } from "../deps.ts";
import type { RouterAppSettings } from "./options.ts";
import type { PluginEntry, Registry } from "../registry/mod.ts";
import type { Authenticated, RouterAuth } from "../auth/mod.ts";
import { describeForCaller } from "./catalog.ts";
import { buildOpenApi } from "./openapi.ts";
import { errorResponse } from "./error_response.ts";
import { pluginNotFound } from "../pipeline/mod.ts";
import type { PrincipalOf } from "./auth_routes.ts";

/** Options of {@linkcode serveCatalog}. */
export interface CatalogRoutesOptions {
  registry: Registry;
  /** The settings in force: `auth` (security schemes) is read per request, so a reload applies. */
  settings: () => RouterAppSettings;
  /** The full, operational description of one plugin (instances, load, drain state). */
  describe: (plugin: PluginEntry) => Record<string, unknown>;
  auth: RouterAuth | undefined;
  /** Who the auth guard let through (see `guardRoutes`). */
  principalOf: PrincipalOf;
  requestId: (incoming: string | null) => string;
  logger: Logger;
}

/**
 * `GET /v1/plugins`, `GET /v1/plugins/:name` and `GET /openapi.json`, each showing only what the
 * caller may call. Without auth: everything. Admins see every plugin with its instances and load.
 * Other principals see the plugins a rule grants them, with only the methods they may call and no
 * instance details; a plugin they may not see is a 404 like one that does not exist. The OpenAPI
 * document lists the operations the caller may call and the configured security schemes.
 */
export function serveCatalog(app: Hono, options: CatalogRoutesOptions): void {
  const { registry, auth } = options;
  /** What `who` may see; `undefined` means everything, in full. */
  const viewOf = (who: Authenticated | undefined) =>
    auth === undefined || who === undefined ? undefined : {
      admin: auth.isAdmin(who),
      plugin: (name: string) => auth.maySee(who, name),
      method: (plugin: string, method: string) => auth.mayCall(who, plugin, method),
    };

  app.get("/v1/plugins", (c) => {
    const view = viewOf(options.principalOf(c));
    const plugins = [...registry.plugins()];
    if (view === undefined || view.admin) return c.json({ plugins: plugins.map(options.describe) });
    return c.json({
      plugins: plugins.filter((p) => view.plugin(p.name)).map((p) =>
        describeForCaller(p, (m) => view.method(p.name, m))
      ),
    });
  });
  app.get("/openapi.json", (c) => {
    const view = viewOf(options.principalOf(c));
    return c.json(buildOpenApi(registry, {
      auth: options.settings().auth,
      ...(view === undefined ? {} : { mayCall: view.method }),
    }));
  });
  app.get("/v1/plugins/:name", (c) => {
    const name = c.req.param("name");
    const plugin = registry.get(name);
    const view = viewOf(options.principalOf(c));
    if (plugin === undefined || (view !== undefined && !view.admin && !view.plugin(name))) {
      return errorResponse(
        pluginNotFound(name),
        options.requestId(c.req.header("x-request-id") ?? null),
        options.logger,
      );
    }
    if (view === undefined || view.admin) return c.json(options.describe(plugin));
    return c.json(describeForCaller(plugin, (m) => view.method(plugin.name, m)));
  });
}
