import type { MethodEntry, Registry, VersionEntry } from "../registry/mod.ts";
import type { ResolvedAuthOptions } from "../auth/mod.ts";

/** Options of {@linkcode buildOpenApi}. */
export interface OpenApiOptions {
  /** `info.title`. @default "Switchyard" */
  title?: string;
  /** `info.version`. @default "0.0.0" */
  version?: string;
  /** Only these plugin methods are described (what the caller may call). @default every one */
  mayCall?: (plugin: string, method: string) => boolean;
  /** The router's `auth` settings: each configured scheme becomes a security scheme. @default no security */
  auth?: ResolvedAuthOptions | undefined;
}

const ERROR_SCHEMA = {
  type: "object",
  required: ["error"],
  properties: {
    error: {
      type: "object",
      required: ["code", "message"],
      properties: {
        code: { type: "string" },
        message: { type: "string" },
        requestId: { type: "string" },
        issues: {
          type: "array",
          items: { type: "object", required: ["path", "message"], properties: { path: { type: "string" }, message: { type: "string" } } },
        },
      },
    },
  },
} as const;

/**
 * An OpenAPI 3.1 document of every discovered plugin method, built live from the registry: one
 * `POST /v1/<plugin>/<method>` operation per method of the version a request without
 * `x-plugin-version` reaches (the highest stable live one, else the highest known). Input and
 * output schemas are the plugins' own JSON Schemas (draft 2020-12, OpenAPI 3.1's dialect).
 */
export function buildOpenApi(registry: Registry, options: OpenApiOptions = {}): Record<string, unknown> {
  const paths: Record<string, unknown> = {};
  const schemas: Record<string, unknown> = { Error: ERROR_SCHEMA };
  const tags: { name: string; description: string }[] = [];
  const plugins = [...registry.plugins()].sort((a, b) => a.name.localeCompare(b.name));
  for (const plugin of plugins) {
    const version = registry.pick(plugin.name, undefined) ?? newest(plugin.versions);
    if (version === undefined) continue;
    const methods = [...version.methods.values()].filter((m) => options.mayCall?.(plugin.name, m.name) ?? true);
    if (methods.length === 0) continue;
    const versions = [...plugin.versions.keys()].join(", ");
    tags.push({ name: plugin.name, description: `Versions known: ${versions}; described: ${version.version}` });
    for (const method of methods.sort((a, b) => a.name.localeCompare(b.name))) {
      const key = `${plugin.name}.${method.name}`;
      schemas[`${key}.input`] = method.inputSchema;
      schemas[`${key}.output`] = method.outputSchema;
      paths[`/v1/${plugin.name}/${method.name}`] = { post: operation(plugin.name, version, method, key) };
    }
  }
  const securitySchemes = options.auth === undefined ? undefined : securitySchemesOf(options.auth);
  return {
    openapi: "3.1.0",
    info: { title: options.title ?? "Switchyard", version: options.version ?? "0.0.0" },
    jsonSchemaDialect: "https://json-schema.org/draft/2020-12/schema",
    // Any one of the schemes will do: each is an alternative of its own.
    ...(securitySchemes === undefined ? {} : { security: Object.keys(securitySchemes).map((name) => ({ [name]: [] })) }),
    tags,
    paths,
    components: { schemas, ...(securitySchemes === undefined ? {} : { securitySchemes }) },
  };
}

/** OpenAPI security schemes for the configured authentication schemes. */
export function securitySchemesOf(auth: ResolvedAuthOptions): Record<string, Record<string, string>> {
  const schemes: Record<string, Record<string, string>> = {};
  if (auth.apiKeys !== undefined) schemes.apiKey = { type: "apiKey", in: "header", name: auth.apiKeys.header };
  if (auth.jwt !== undefined) schemes.bearer = { type: "http", scheme: "bearer", bearerFormat: "JWT" };
  if (auth.basic !== undefined) schemes.basic = { type: "http", scheme: "basic" };
  if (auth.mtls !== undefined) schemes.mutualTLS = { type: "mutualTLS" };
  return schemes;
}

function operation(plugin: string, version: VersionEntry, method: MethodEntry, key: string): Record<string, unknown> {
  const error = { description: "Error", content: { "application/json": { schema: { $ref: "#/components/schemas/Error" } } } };
  return {
    operationId: key,
    tags: [plugin],
    summary: method.description || `${plugin}.${method.name}`,
    ...(method.idempotent ? { "x-idempotent": true } : {}),
    parameters: [
      {
        name: "x-plugin-version",
        in: "header",
        required: false,
        description: `Semver range of the plugin version to call (default: ${version.version}, the highest stable, or the configured rule)`,
        schema: { type: "string" },
      },
      { name: "x-request-id", in: "header", required: false, schema: { type: "string" } },
    ],
    requestBody: { required: true, content: { "application/json": { schema: { $ref: `#/components/schemas/${key}.input` } } } },
    responses: {
      "200": {
        description: method.stream ? "The method's items as they come: NDJSON, one item per line, or (Accept: text/event-stream) one Server-Sent Event per item; an error after the first item is a last `{\"error\":…}` line (SSE: `event: error`)" : "The method's output",
        headers: {
          "x-plugin-version": { description: "The version that served", schema: { type: "string" } },
          "x-plugin-instance": { description: "The instance that served", schema: { type: "string" } },
        },
        content: method.stream
          ? {
            // OpenAPI 3.1 cannot say "a sequence of": the schema is each item's (one line, or one event's data).
            "application/x-ndjson": { schema: { $ref: `#/components/schemas/${key}.output` } },
            "text/event-stream": { schema: { $ref: `#/components/schemas/${key}.output` } },
          }
          : { "application/json": { schema: { $ref: `#/components/schemas/${key}.output` } } },
      },
      "4XX": error,
      "5XX": error,
    },
  };
}

function newest(versions: ReadonlyMap<string, VersionEntry>): VersionEntry | undefined {
  let best: VersionEntry | undefined;
  for (const v of versions.values()) if (best === undefined || compareSemver(v.version, best.version) > 0) best = v;
  return best;
}

function compareSemver(a: string, b: string): number {
  const pa = a.split(/[.+-]/, 3).map(Number);
  const pb = b.split(/[.+-]/, 3).map(Number);
  for (let i = 0; i < 3; i++) if ((pa[i] ?? 0) !== (pb[i] ?? 0)) return (pa[i] ?? 0) - (pb[i] ?? 0);
  return 0;
}
