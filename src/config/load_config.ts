import { readFileSync } from "node:fs";
import { REGION_NAME } from "../registry/mod.ts";
import * as v from "valibot";
import { parse as parseYaml } from "yaml";
import { isSecretName } from "../telemetry/redact.ts";
import { ConfigSchema } from "./schema.ts";
import type { ResolvedConfig } from "./schema.ts";

/** A config that failed validation; `problems` name each by dotted path. */
export class ConfigError extends Error {
  readonly problems: readonly string[];
  constructor(source: string, problems: readonly string[]) {
    super(`Invalid configuration in ${source}:\n  ${problems.join("\n  ")}`);
    this.name = "ConfigError";
    this.problems = problems;
  }
}

/** Reads a JSON or YAML config file (by extension; `.json` or `.yaml`/`.yml`). */
export function readConfigFile(path: string): unknown {
  return parseConfigText(readFileSync(path, "utf8"), path);
}

/**
 * Parses config text as YAML or JSON by the extension of `path`.
 * @throws {ConfigError} when it cannot be parsed.
 */
export function parseConfigText(text: string, path: string): unknown {
  try {
    return /\.ya?ml$/i.test(path) ? parseYaml(text) : JSON.parse(text);
  } catch (err) {
    throw new ConfigError(path, [`(file) cannot be parsed: ${(err as Error).message.split("\n")[0]}`]);
  }
}

/**
 * Validates `raw` (a parsed config file, or `{}`), then applies env overrides: `NATS_URL`
 * (comma-separated), `PORT`, `LOG_LEVEL` and `SWITCHYARD_REGION`.
 * @throws {ConfigError} with one line per problem, by dotted path.
 */
export function resolveConfig(raw: unknown, env: Readonly<Record<string, string | undefined>>, source = "config"): ResolvedConfig {
  const result = v.safeParse(ConfigSchema, raw ?? {});
  if (!result.success) {
    throw new ConfigError(
      source,
      result.issues.map((i) => {
        const path = v.getDotPath(i) ?? "(root)";
        if (i.expected === "never") return `${path}: unknown key`;
        // A problem is logged (and reloads log it too): never echo what a secret field holds.
        return `${path}: ${path.split(".").some(isSecretName) ? i.message.replace(/ but received [^]*$/, "") : i.message}`;
      }),
    );
  }
  const config = result.output;
  const natsUrl = env.NATS_URL?.trim();
  if (natsUrl) config.nats.servers = natsUrl.split(",").map((s) => s.trim()).filter(Boolean);
  const level = env.LOG_LEVEL?.trim().toLowerCase();
  if (level) {
    if (level !== "debug" && level !== "info" && level !== "warn" && level !== "error") {
      throw new ConfigError("env", [`LOG_LEVEL: "${env.LOG_LEVEL}" is not one of debug, info, warn, error`]);
    }
    config.log.level = level;
  }
  const region = env.SWITCHYARD_REGION?.trim();
  if (region) {
    if (!REGION_NAME.test(region)) throw new ConfigError("env", [`SWITCHYARD_REGION: "${region.slice(0, 80)}" must match ${REGION_NAME.source}`]);
    config.region = region;
  }
  if (env.PORT?.trim()) {
    const port = Number(env.PORT);
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new ConfigError("env", [`PORT: "${env.PORT}" is not a port`]);
    config.router.port = port;
  }
  return config;
}

/** Reads (when `path` is given), validates and resolves the config. */
export function loadConfig(path: string | undefined, env: Readonly<Record<string, string | undefined>>): ResolvedConfig {
  return resolveConfig(path === undefined ? {} : readConfigFile(path), env, path ?? "config");
}
