/**
 * Options of the `discovery` benchmark group: the N × R grid, the router's discovery config under
 * test, the measured window.
 * @module
 */
import type { RuntimeName } from "../scenarios.ts";
import { RUNTIMES } from "../scenarios.ts";

/** The scenario-group name: `npm run bench -- --scenarios discovery`. */
export const DISCOVERY_GROUP = "discovery";

/** Instances and routers of the full grid. */
export const DEFAULT_INSTANCES = [100, 1_000, 5_000];
export const DEFAULT_ROUTERS = [1, 5, 20];
/** The harness check `bench:smoke` runs: small enough for well under 15 s. */
export const SMOKE_INSTANCES = [50];
export const SMOKE_ROUTERS = [1];
const SMOKE_WINDOW_S = 1;
/** The router's discovery interval when the config does not set one (src/config/schema.ts). */
export const DEFAULT_INTERVAL_MS = 5_000;

export interface DiscoveryArgs {
  /** Simulated instances, one grid row group per value. */
  instances: number[];
  /** Routers running while the window is measured. */
  routers: number[];
  /** The router config's `discovery` object, as given (`{}`: today's defaults). */
  config: Record<string, unknown>;
  /** The measured window, s. @default two discovery intervals */
  windowS: number;
  /**
   * How long to wait, once every router knows every instance, before the window: their first
   * steady polls (the first health check of each instance) stay out of it. @default one interval; smoke: 0
   */
  settleS: number;
  /**
   * Runtime of the routers (and the simulator). Bun by default: the grid starts 63 routers, and a
   * Bun router starts on a third of a Node one's CPU, which keeps the grid near 5 minutes on 2 busy cores.
   * @default bun
   */
  runtime: RuntimeName;
  /** Plugin names the instances are spread over. @default 10 */
  plugins: number;
}

/** What `--discovery-config '{…}'` sets, for the table: its `mode`, else today's only one, `poll`. */
export function discoveryMode(config: Record<string, unknown>): string {
  return typeof config.mode === "string" ? config.mode : "poll";
}

/** The discovery interval in force under `config`. */
export function discoveryIntervalMs(config: Record<string, unknown>): number {
  return typeof config.intervalMs === "number" ? config.intervalMs : DEFAULT_INTERVAL_MS;
}

/** One line saying what the grid will run. */
export function describeDiscoveryArgs(args: DiscoveryArgs): string {
  return `N=${args.instances.join(",")} simulated instances (${args.plugins} plugins) × R=${
    args.routers.join(",")
  } ` +
    `routers on ${args.runtime}, mode ${discoveryMode(args.config)} (interval ${
      discoveryIntervalMs(args.config)
    } ms, ` +
    `discovery config ${JSON.stringify(args.config)}), ${args.windowS} s window per row`;
}

/** Raw option values, as `node:util` parseArgs gives them. */
export interface RawDiscoveryArgs {
  n?: string | undefined;
  r?: string | undefined;
  "discovery-config"?: string | undefined;
  "discovery-window"?: string | undefined;
  "discovery-runtime"?: string | undefined;
  "discovery-plugins"?: string | undefined;
}

/** Parses the discovery options; throws a RangeError naming the bad one. */
export function parseDiscoveryArgs(raw: RawDiscoveryArgs, smoke: boolean): DiscoveryArgs {
  const counts = (name: string, value: string | undefined, fallback: number[]) =>
    value === undefined ? fallback : [
      ...new Set(
        value.split(",").map((s) => s.trim()).filter((s) => s !== "").map((s) => {
          const n = Number(s);
          if (!Number.isInteger(n) || n < 1) {
            throw new RangeError(`--${name} takes positive integers, got "${s}"`);
          }
          return n;
        }),
      ),
    ].sort((a, b) => a - b);
  let config: unknown = {};
  if (raw["discovery-config"] !== undefined) {
    try {
      config = JSON.parse(raw["discovery-config"]);
    } catch {
      throw new RangeError(`--discovery-config must be a JSON object, e.g. '{"intervalMs":5000}'`);
    }
  }
  if (typeof config !== "object" || config === null || Array.isArray(config)) {
    throw new RangeError("--discovery-config must be a JSON object");
  }
  const settings = config as Record<string, unknown>;
  const windowS = raw["discovery-window"] === undefined
    ? (smoke ? SMOKE_WINDOW_S : (2 * discoveryIntervalMs(settings)) / 1000)
    : Number(raw["discovery-window"]);
  if (!(windowS > 0)) throw new RangeError(`--discovery-window must be a positive number of seconds`);
  const runtime = raw["discovery-runtime"] ?? "bun";
  if (!(RUNTIMES as readonly string[]).includes(runtime)) {
    throw new RangeError(`Unknown runtime "${runtime}"`);
  }
  const plugins = Number(raw["discovery-plugins"] ?? 10);
  if (!Number.isInteger(plugins) || plugins < 1 || plugins > 100) {
    throw new RangeError("--discovery-plugins must be 1..100");
  }
  return {
    instances: counts("n", raw.n, smoke ? SMOKE_INSTANCES : DEFAULT_INSTANCES),
    routers: counts("r", raw.r, smoke ? SMOKE_ROUTERS : DEFAULT_ROUTERS),
    config: settings,
    windowS,
    settleS: smoke ? 0 : discoveryIntervalMs(settings) / 1000,
    runtime: runtime as RuntimeName,
    plugins,
  };
}
