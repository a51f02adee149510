/**
 * Options of the `discovery` benchmark group: the N × R grid, the discovery modes measured side by
 * side, the router's discovery config under test, the measured window of each mode.
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
/** The router's discovery settings when the config does not set them (src/registry/options.ts). */
export const DEFAULT_INTERVAL_MS = 5_000;
export const DEFAULT_ROLL_CALL_MS = 60_000;
/** The router's discovery modes, each measured in its own rows (`--discovery-modes`). */
export const DISCOVERY_MODES = ["poll", "announce"] as const;
export type DiscoveryModeName = typeof DISCOVERY_MODES[number];
/** Settling time of an announce row: its routers' first health check of each instance, then nothing until a roll call. */
const ANNOUNCE_SETTLE_S = 2;

export interface DiscoveryArgs {
  /** Simulated instances, one grid row group per value. */
  instances: number[];
  /** Routers running while the window is measured. */
  routers: number[];
  /** The modes measured, in this order (the same grid for each). @default poll, announce */
  modes: DiscoveryModeName[];
  /** The router config's `discovery` object without `mode`, as given (`{}`: the defaults). */
  config: Record<string, unknown>;
  /** The measured window, s, when `--discovery-window` sets it for every mode (see {@linkcode modePlan}). */
  windowS: number | undefined;
  /** `bench:smoke`: 1 s windows, no settling. */
  smoke: boolean;
  /**
   * Runtime of the routers (and the simulator). Bun by default: the grid starts 63 routers, and a
   * Bun router starts on a third of a Node one's CPU, which keeps the grid near 5 minutes on 2 busy cores.
   * @default bun
   */
  runtime: RuntimeName;
  /** Plugin names the instances are spread over. @default 10 */
  plugins: number;
}

/** How one mode is run and measured. */
export interface ModePlan {
  mode: DiscoveryModeName;
  /** The router config's `discovery` object for this mode. */
  config: Record<string, unknown>;
  /** How often a router looks in this mode: `intervalMs` (poll) or `rollCallMs` (announce). */
  periodMs: number;
  /**
   * The measured window, s. Poll: two intervals. Announce: one roll call period, so that each
   * router's roll call falls in it once (its traffic is then amortised over the period).
   */
  windowS: number;
  /**
   * How long to wait, once every router knows every instance, before the window: their first
   * health check of each instance stays out of it. Poll: one interval; announce: 2 s; smoke: 0.
   */
  settleS: number;
}

/** The discovery interval in force under `config`. */
export function discoveryIntervalMs(config: Record<string, unknown>): number {
  return typeof config.intervalMs === "number" ? config.intervalMs : DEFAULT_INTERVAL_MS;
}

/** The roll call period in force under `config`. */
export function discoveryRollCallMs(config: Record<string, unknown>): number {
  return typeof config.rollCallMs === "number" ? config.rollCallMs : DEFAULT_ROLL_CALL_MS;
}

/** What one mode's rows run with. */
export function modePlan(args: DiscoveryArgs, mode: DiscoveryModeName): ModePlan {
  const periodMs = mode === "poll" ? discoveryIntervalMs(args.config) : discoveryRollCallMs(args.config);
  const windowS = args.windowS ??
    (args.smoke ? SMOKE_WINDOW_S : (mode === "poll" ? 2 * periodMs : periodMs) / 1000);
  const settleS = args.smoke ? 0 : mode === "poll" ? periodMs / 1000 : ANNOUNCE_SETTLE_S;
  return { mode, config: { ...args.config, mode }, periodMs, windowS, settleS };
}

/** One line saying what the grid will run. */
export function describeDiscoveryArgs(args: DiscoveryArgs): string {
  const modes = args.modes.map((mode) => {
    const plan = modePlan(args, mode);
    return `${mode} (every ${plan.periodMs / 1000} s, ${plan.windowS} s window)`;
  });
  return `N=${args.instances.join(",")} simulated instances (${args.plugins} plugins) × R=${
    args.routers.join(",")
  } ` +
    `routers on ${args.runtime}, modes ${modes.join(" then ")}, discovery config ${
      JSON.stringify(args.config)
    }`;
}

/** Raw option values, as `node:util` parseArgs gives them. */
export interface RawDiscoveryArgs {
  n?: string | undefined;
  r?: string | undefined;
  "discovery-modes"?: string | undefined;
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
  const { mode, ...settings } = config as Record<string, unknown>;
  if (mode !== undefined && raw["discovery-modes"] !== undefined) {
    throw new RangeError(`give the mode once: --discovery-modes, or "mode" in --discovery-config`);
  }
  const modes = parseModes(mode === undefined ? raw["discovery-modes"] : String(mode));
  const windowS = raw["discovery-window"] === undefined ? undefined : Number(raw["discovery-window"]);
  if (windowS !== undefined && !(windowS > 0)) {
    throw new RangeError(`--discovery-window must be a positive number of seconds`);
  }
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
    modes,
    config: settings,
    windowS,
    smoke,
    runtime: runtime as RuntimeName,
    plugins,
  };
}

/** `poll,announce` → the modes, once each, in the order given; `undefined` → both. */
function parseModes(value: string | undefined): DiscoveryModeName[] {
  if (value === undefined) return [...DISCOVERY_MODES];
  const modes = [...new Set(value.split(",").map((s) => s.trim()).filter((s) => s !== ""))];
  for (const mode of modes) {
    if (!(DISCOVERY_MODES as readonly string[]).includes(mode)) {
      throw new RangeError(`unknown discovery mode "${mode}": ${DISCOVERY_MODES.join(", ")}`);
    }
  }
  if (modes.length === 0) throw new RangeError(`--discovery-modes takes ${DISCOVERY_MODES.join(",")}`);
  return modes as DiscoveryModeName[];
}
