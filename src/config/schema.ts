import * as v from "valibot";
import semver from "semver";
import { BalancerNameSchema, BalancingOptionsSchema, CanarySchema } from "../balancing/options.ts";
import { AdminSchema } from "../router/admin_options.ts";
import { ROUTER_DASHBOARD_FIELDS } from "../router/dashboard_options.ts";
import { SupervisedPluginFields, SupervisorSchema } from "../supervisor/options.ts";
import { AuthSchema } from "../auth/options.ts";
import { AllowListSchema } from "../supervisor/allow_list_schema.ts";
import { METRICS_SECURITY_FIELDS, NATS_SECURITY_FIELDS, ROUTER_SECURITY_FIELDS } from "./security_schema.ts";
import { DEFAULT_TIMEOUT_MS, Millis, PLUGIN_RESILIENCE_FIELDS, ResilienceSchema } from "../resilience/options.ts";

export const DEFAULT_PORT = 8080;
export const DEFAULT_HOST = "0.0.0.0";
/** 1 MiB: well below NATS's default max_payload of 1 MiB plus headers. */
export const DEFAULT_BODY_LIMIT_BYTES = 1024 * 1024 - 16 * 1024;
export const DEFAULT_DRAIN_TIMEOUT_MS = 10_000;
export const DEFAULT_DISCOVERY_INTERVAL_MS = 5_000;

/** Per-plugin overrides. */
export const PluginPolicySchema = v.strictObject({
  /** Timeout and resilience overrides (docs/resilience.md); missing fields inherit `resilience.*`. */
  ...PLUGIN_RESILIENCE_FIELDS,
  /** Semver range for requests without `x-plugin-version` (default: the highest stable version). */
  version: v.optional(v.pipe(v.string(), v.minLength(1), v.maxLength(100), v.check((r) => semver.validRange(r) !== null, "must be a semver range"))),
  /** Canary split for requests without `x-plugin-version`: range → weight, e.g. `{ "1.4.0": 90, "2.1.0": 10 }`. */
  canary: v.optional(CanarySchema),
  /** Balancing strategy (default: `balancing.balancer`). */
  balancer: v.optional(BalancerNameSchema),
  /** Weights of the `weighted` balancer by instance id (default: the instance's `sy.weight`, else 1). */
  weights: v.optional(v.record(v.string(), v.pipe(v.number(), v.minValue(0)))),
  /** What `switchyard up` runs: module, runtime, replicas, env, args, options (docs/lifecycle.md). */
  ...SupervisedPluginFields,
});

export const ConfigSchema = v.strictObject({
  router: v.optional(
    v.strictObject({
      host: v.optional(v.string(), DEFAULT_HOST),
      port: v.optional(v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(65535)), DEFAULT_PORT),
      bodyLimitBytes: v.optional(v.pipe(v.number(), v.integer(), v.minValue(2), v.maxValue(64 * 1024 * 1024)), DEFAULT_BODY_LIMIT_BYTES),
      timeoutMs: v.optional(Millis, DEFAULT_TIMEOUT_MS),
      drainTimeoutMs: v.optional(Millis, DEFAULT_DRAIN_TIMEOUT_MS),
      ...ROUTER_SECURITY_FIELDS,
      ...ROUTER_DASHBOARD_FIELDS,
    }),
    {},
  ),
  nats: v.optional(
    v.strictObject({
      servers: v.optional(v.pipe(v.array(v.pipe(v.string(), v.minLength(1))), v.minLength(1))),
      user: v.optional(v.string()),
      pass: v.optional(v.string()),
      token: v.optional(v.string()),
      ...NATS_SECURITY_FIELDS,
    }),
    {},
  ),
  /** Subject prefix shared by the router and its plugins. */
  prefix: v.optional(v.pipe(v.string(), v.regex(/^[A-Za-z0-9_-]{1,32}$/)), "sy"),
  discovery: v.optional(v.strictObject({ intervalMs: v.optional(Millis, DEFAULT_DISCOVERY_INTERVAL_MS) }), {}),
  /** Default balancer, slow start and outlier ejection (see docs/balancing.md). */
  balancing: v.optional(BalancingOptionsSchema, {}),
  log: v.optional(
    v.strictObject({
      level: v.optional(v.picklist(["debug", "info", "warn", "error"]), "info"),
      format: v.optional(v.picklist(["json", "pretty"]), "json"),
    }),
    {},
  ),
  plugins: v.optional(v.record(v.pipe(v.string(), v.regex(/^[a-z][a-z0-9-]{0,62}$/)), PluginPolicySchema), {}),
  resilience: v.optional(ResilienceSchema, {}),
  /** The router's `/admin/…` routes: drain, resume, in-flight (docs/lifecycle.md). */
  admin: v.optional(AdminSchema, {}),
  /** Restarts, crash loops, start and drain deadlines of `switchyard up` (docs/lifecycle.md). */
  supervisor: v.optional(SupervisorSchema, {}),
  /** Prometheus metrics (docs/telemetry.md). */
  metrics: v.optional(
    v.strictObject({
      enabled: v.optional(v.boolean(), true),
      path: v.optional(v.pipe(v.string(), v.regex(/^\/[A-Za-z0-9._\/-]{0,100}$/), v.check((p) => !p.startsWith("/v1/"), "must not be under /v1/")), "/metrics"),
      /** Process, heap, GC and event-loop metrics. */
      processMetrics: v.optional(v.boolean(), true),
      ...METRICS_SECURITY_FIELDS,
    }),
    {},
  ),
  /** Authentication and grants at the router (docs/security.md). Off unless set. */
  auth: v.optional(AuthSchema),
  /** SHA-256 allow-list of plugin code, checked before an instance starts (docs/security.md). */
  allowList: v.optional(AllowListSchema),
});

export type Config = v.InferInput<typeof ConfigSchema>;
export type ResolvedConfig = v.InferOutput<typeof ConfigSchema>;
export type PluginPolicy = v.InferOutput<typeof PluginPolicySchema>;
export type { MethodPolicy, ResolvedResilience } from "../resilience/options.ts";
