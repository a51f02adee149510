import type { Tracer } from "@opentelemetry/api";
import type { Hono } from "hono";
import type { Clock, Logger } from "../deps.ts";
import type { RouterAppSettings } from "./options.ts";
import type { Registry } from "../registry/mod.ts";
import type { CircuitState, ResiliencePolicies } from "../resilience/mod.ts";
import { createRouterMetrics, RouterTelemetry } from "../telemetry/mod.ts";
import type { RouterMetrics } from "../telemetry/mod.ts";
import type { RouterAuth } from "../auth/mod.ts";
import { metricsAccess } from "./auth_routes.ts";

/** Telemetry a router is given. */
export interface RouterTelemetryConfig {
  /** The metrics `GET /metrics` serves (the CLI also feeds it NATS status). @default built per `config.metrics` */
  metrics?: RouterMetrics;
  /** Spans per request; `undefined` turns tracing off. */
  tracer?: Tracer | undefined;
}

interface Parts {
  settings: () => RouterAppSettings;
  registry: Registry;
  policies: ResiliencePolicies;
  logger: Logger;
  clock: Clock;
  telemetry?: RouterTelemetryConfig | undefined;
  /** With auth on, `/metrics` needs a principal with a metrics or admin role (or `metrics.token`). */
  auth?: RouterAuth | undefined;
  requestId: (incoming: string | null) => string;
}

/**
 * Builds the router's telemetry and, when metrics are on, serves `GET /metrics` on `app`: behind
 * `metrics.token` and, with auth on, a metrics or admin role (see {@linkcode metricsAccess}).
 */
export function routerTelemetry(app: Hono, parts: Parts): RouterTelemetry {
  const { registry, policies, clock } = parts;
  const config = parts.settings();
  let metrics = parts.telemetry?.metrics;
  if (metrics === undefined && config.metrics.enabled) {
    metrics = createRouterMetrics({
      processMetrics: config.metrics.processMetrics,
      sources: metricSources(registry, policies, clock),
    });
  }
  if (metrics !== undefined) {
    const served = metrics;
    // Read per scrape, so a reloaded token or role list applies.
    const access = { settings: () => parts.settings().metrics, auth: parts.auth, requestId: parts.requestId, logger: parts.logger };
    app.get(config.metrics.path, async (c) => {
      const refused = await metricsAccess(c, access);
      if (refused !== undefined) return refused;
      return new Response(await served.render(), { headers: { "content-type": served.contentType } });
    });
  }
  return new RouterTelemetry({ metrics, tracer: parts.telemetry?.tracer, logger: parts.logger, accessLog: config.log.level === "debug" });
}

/** Where breaker states and ejected instances are read from when `/metrics` is scraped. */
export function metricSources(registry: Registry, policies: ResiliencePolicies, clock: Clock) {
  return {
    *breakers(): Generator<{ plugin: string; method: string; state: CircuitState }> {
      for (const p of registry.plugins()) {
        const d = policies.peek(p.name)?.describe();
        if (d === undefined) continue;
        if (d.breaker !== undefined) yield { plugin: p.name, method: "", state: d.breaker.state };
        for (const [method, b] of Object.entries(d.methods ?? {})) yield { plugin: p.name, method, state: b.state };
      }
    },
    *ejected(): Generator<{ plugin: string; count: number }> {
      const now = clock.now();
      for (const p of registry.plugins()) {
        let count = 0;
        for (const v of p.versions.values()) for (const i of v.instances.values()) if (i.ejectedUntil > now) count++;
        yield { plugin: p.name, count };
      }
    },
  };
}
