import * as v from "valibot";
import semver from "semver";
import { BalancerNameSchema, BalancingOptionsSchema, CanarySchema, LocalitySchema } from "../balancing/options.ts";
import { AdminSchema } from "../router/admin_options.ts";
import { SupervisedPluginFields, SupervisorSchema } from "../supervisor/options.ts";
import { AuthSchema } from "../auth/options.ts";
import { AllowListSchema } from "../supervisor/allow_list_schema.ts";
import { PLUGIN_RESILIENCE_FIELDS, ResilienceSchema } from "../resilience/options.ts";
import { MetricsOptionsSchema, RouterOptionsSchema } from "../router/options.ts";
import { NatsOptionsSchema } from "../bus/options.ts";
import { DiscoveryOptionsSchema } from "../registry/options.ts";
import { LogOptionsSchema } from "../telemetry/options.ts";

export { DEFAULT_DISCOVERY_INTERVAL_MS } from "../registry/options.ts";

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
  /** Which regions' instances take this plugin's requests (default: `balancing.locality`). */
  locality: v.optional(LocalitySchema),
  /** Weights of the `weighted` balancer by instance id (default: the instance's `sy.weight`, else 1). */
  weights: v.optional(v.record(v.string(), v.pipe(v.number(), v.minValue(0)))),
  /** What `switchyard up` runs: module, runtime, replicas, env, args, options (docs/lifecycle.md). */
  ...SupervisedPluginFields,
});

export const ConfigSchema = v.strictObject({
  /** Listen address, request limits and timeouts, TLS (docs/security.md). */
  router: v.optional(RouterOptionsSchema, {}),
  /** Where the NATS servers are and how to log in (docs/security.md). */
  nats: v.optional(NatsOptionsSchema, {}),
  /**
   * The region this process runs in (`SWITCHYARD_REGION` overrides it): a router prefers instances
   * of its own region (`plugins.<name>.locality`), a supervisor gives it to its instances.
   */
  region: v.optional(v.pipe(v.string(), v.regex(/^[A-Za-z0-9._-]{1,64}$/, "letters, digits, ., _ and -, up to 64"))),
  /** Subject prefix shared by the router and its plugins. */
  prefix: v.optional(v.pipe(v.string(), v.regex(/^[A-Za-z0-9_-]{1,32}$/)), "sy"),
  /** How routers keep track of instances (docs/scale-out.md). */
  discovery: v.optional(DiscoveryOptionsSchema, {}),
  /** Default balancer, slow start and outlier ejection (see docs/balancing.md). */
  balancing: v.optional(BalancingOptionsSchema, {}),
  log: v.optional(LogOptionsSchema, {}),
  plugins: v.optional(v.record(v.pipe(v.string(), v.regex(/^[a-z][a-z0-9-]{0,62}$/)), PluginPolicySchema), {}),
  resilience: v.optional(ResilienceSchema, {}),
  /** The router's `/admin/…` routes: drain, resume, in-flight (docs/lifecycle.md). */
  admin: v.optional(AdminSchema, {}),
  /** Restarts, crash loops, start and drain deadlines of `switchyard up` (docs/lifecycle.md). */
  supervisor: v.optional(SupervisorSchema, {}),
  /** Prometheus metrics (docs/telemetry.md). */
  metrics: v.optional(MetricsOptionsSchema, {}),
  /** Authentication and grants at the router (docs/security.md). Off unless set. */
  auth: v.optional(AuthSchema),
  /** SHA-256 allow-list of plugin code, checked before an instance starts (docs/security.md). */
  allowList: v.optional(AllowListSchema),
});

export type Config = v.InferInput<typeof ConfigSchema>;
export type ResolvedConfig = v.InferOutput<typeof ConfigSchema>;
export type PluginPolicy = v.InferOutput<typeof PluginPolicySchema>;
export type { MethodPolicy, ResolvedResilience } from "../resilience/options.ts";
