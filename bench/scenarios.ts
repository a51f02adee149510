/**
 * The benchmark scenarios as plain data: which processes to start (script, args, env, ready line)
 * and what load to put on them. Add a scenario by appending one object to SCENARIOS.
 * @module
 */

export type RuntimeName = "deno" | "bun" | "node";
export const RUNTIMES: readonly RuntimeName[] = ["deno", "bun", "node"];

/** What a started process is, for the per-process CPU and RSS columns. */
export type Role = "gateway" | "plugin" | "sink";

/** One process of a scenario; `script` is relative to the project root. */
export interface ProcessSpec {
  role: Role;
  script: string;
  args: string[];
  env?: Record<string, string>;
  /** A stdout/stderr line that says the process is ready. */
  ready: RegExp;
  /** Run under this runtime instead of the scenario's (helpers such as the OTLP sink). */
  runtime?: RuntimeName;
}

/**
 * Load on an HTTP target (wrk or autocannon) or straight on a NATS subject (floor_nats_client.ts).
 * `expect` is the JSON a 2xx answer must carry, checked once before the load.
 */
export type LoadSpec =
  | { kind: "http"; path: string; body: string; expect?: unknown }
  | { kind: "nats"; subject: string };

/** Values the runner allocates before starting a scenario's processes. */
export interface ScenarioContext {
  runtime: RuntimeName;
  natsUrl: string;
  httpPort: number;
  sinkPort: number;
}

export interface Scenario {
  name: string;
  description: string;
  /** Files that must exist (relative to the project root), or the scenario is skipped. */
  requires: string[];
  /** The processes, started together; the load starts once each printed its ready line. */
  processes(ctx: ScenarioContext): ProcessSpec[];
  load: LoadSpec;
  /** Runs only on the router runtimes this accepts. @default every runtime */
  runsOn?: (runtime: RuntimeName) => boolean;
}

const BODY = JSON.stringify({ name: "World" });
const FLOOR_SUBJECT = "floor.hello.greet";

function responder(ctx: ScenarioContext): ProcessSpec {
  const args = ["--nats", ctx.natsUrl, "--subject", FLOOR_SUBJECT];
  return { role: "plugin", script: "bench/floor_nats_responder.ts", args, ready: /responder ready/ };
}

function floorGateway(ctx: ScenarioContext, mode: "mux" | "request" | "static"): ProcessSpec {
  const args = ["--nats", ctx.natsUrl, "--port", String(ctx.httpPort), "--mode", mode, "--prefix", "floor"];
  return { role: "gateway", script: "bench/floor_http_gateway.ts", args, ready: /gateway ready/ };
}

function switchyard(
  ctx: ScenarioContext,
  env: Record<string, string>,
  pluginRuntime?: RuntimeName,
  routerArgs: string[] = [],
): ProcessSpec[] {
  return [
    {
      role: "plugin",
      script: "src/cli/main.ts",
      args: ["plugin", "plugins/hello/mod.ts", "--nats", ctx.natsUrl],
      env,
      ready: /plugin ready/,
      ...(pluginRuntime === undefined ? {} : { runtime: pluginRuntime }),
    },
    {
      role: "gateway",
      script: "src/cli/main.ts",
      args: ["router", "--port", String(ctx.httpPort), "--nats", ctx.natsUrl, ...routerArgs],
      env,
      ready: /router ready/,
    },
  ];
}

/** An open dashboard page (its event stream), counted apart from the server's processes. */
function dashboardPage(ctx: ScenarioContext): ProcessSpec {
  const args = ["--router", `http://127.0.0.1:${ctx.httpPort}`, "--port", String(ctx.sinkPort)];
  return {
    role: "sink",
    script: "bench/dashboard_page.ts",
    args,
    ready: /dashboard page ready/,
    runtime: "node",
  };
}

const HELLO: LoadSpec = {
  kind: "http",
  path: "/v1/hello/greet",
  body: BODY,
  expect: { message: "Hello, World" },
};
const SWITCHYARD_FILES = ["src/cli/main.ts", "plugins/hello/mod.ts"];

/**
 * The router on the row's runtime, the plugin on another one: with the same-runtime `switchyard`
 * rows these make the full router × plugin runtime matrix.
 */
export const MATRIX_SCENARIOS: readonly Scenario[] = RUNTIMES.map((pluginRuntime) => ({
  name: `switchyard/plugin-${pluginRuntime}`,
  description: `switchyard router → hello plugin on ${pluginRuntime} (tracing off)`,
  requires: SWITCHYARD_FILES,
  processes: (ctx: ScenarioContext) => switchyard(ctx, {}, pluginRuntime),
  load: HELLO,
  runsOn: (runtime: RuntimeName) => runtime !== pluginRuntime,
}));

export const SCENARIOS: readonly Scenario[] = [
  {
    name: "floor-nats",
    description: "bare NATS request/reply client → bare responder (no HTTP)",
    requires: [],
    processes: (ctx) => [responder(ctx)],
    load: { kind: "nats", subject: FLOOR_SUBJECT },
  },
  {
    name: "floor-http-mux",
    description: "hand-written Hono gateway, one wildcard inbox + Map mux → bare responder",
    requires: [],
    processes: (ctx) => [responder(ctx), floorGateway(ctx, "mux")],
    load: HELLO,
  },
  {
    name: "floor-http-request",
    description: "same gateway using nc.request() → bare responder",
    requires: [],
    processes: (ctx) => [responder(ctx), floorGateway(ctx, "request")],
    load: HELLO,
  },
  {
    name: "floor-http-static",
    description: "same Hono app answering a fixed JSON itself: HTTP stack only, no NATS hop",
    requires: [],
    processes: (ctx) => [floorGateway(ctx, "static")],
    load: HELLO,
  },
  {
    name: "switchyard",
    description: "switchyard router → hello plugin (tracing off)",
    requires: SWITCHYARD_FILES,
    processes: (ctx) => switchyard(ctx, {}),
    load: HELLO,
  },
  {
    name: "switchyard+tracing",
    description: "switchyard router → hello plugin, every request traced, OTLP/HTTP to a local sink",
    requires: SWITCHYARD_FILES,
    processes: (ctx) => [
      {
        role: "sink",
        script: "bench/otlp_sink.ts",
        args: ["--port", String(ctx.sinkPort)],
        ready: /otlp sink ready/,
        runtime: "node",
      },
      ...switchyard(ctx, {
        OTEL_TRACES_SAMPLER: "always_on",
        OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${ctx.sinkPort}`,
        // Under load a batch fills (512 spans) long before this; it only makes a short smoke run export too.
        OTEL_BSP_SCHEDULE_DELAY: "1000",
      }),
    ],
    load: HELLO,
  },
  {
    name: "switchyard+dead-collector",
    description:
      "switchyard+tracing with the OTLP endpoint on a closed port: exports fail, requests must not",
    requires: SWITCHYARD_FILES,
    // sinkPort was free when allocated and nothing listens on it here: every export is refused.
    processes: (ctx) =>
      switchyard(ctx, {
        OTEL_TRACES_SAMPLER: "always_on",
        OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${ctx.sinkPort}`,
        OTEL_BSP_SCHEDULE_DELAY: "1000",
      }),
    load: HELLO,
  },
  {
    name: "switchyard+dashboard",
    description: "switchyard with a dashboard page open: /dashboard/events streams a snapshot a second",
    requires: [...SWITCHYARD_FILES, "bench/dashboard_page.ts"],
    processes: (ctx) => [...switchyard(ctx, {}), dashboardPage(ctx)],
    load: HELLO,
  },
  {
    name: "switchyard+dashboard+traces",
    description:
      "switchyard+dashboard with the router keeping traces in its ring (router.traces.enabled, as in dev)",
    requires: [...SWITCHYARD_FILES, "bench/dashboard_page.ts", "bench/fixtures/traces.config.json"],
    processes: (ctx) => [
      ...switchyard(ctx, {}, undefined, ["--config", "bench/fixtures/traces.config.json"]),
      dashboardPage(ctx),
    ],
    load: HELLO,
  },
  {
    name: "switchyard/no-guard",
    description:
      "switchyard router with router.connectionGuard off (behind a proxy): Deno and Bun serve directly",
    requires: [...SWITCHYARD_FILES, "bench/fixtures/no-guard.config.json"],
    processes: (ctx) => switchyard(ctx, {}, undefined, ["--config", "bench/fixtures/no-guard.config.json"]),
    load: HELLO,
    runsOn: (runtime) => runtime !== "node",
  },
  ...MATRIX_SCENARIOS,
  {
    name: "moleculer",
    description:
      "peer: moleculer-web gateway → Moleculer service over its NATS transporter (nats 2.x driver)",
    requires: ["bench/moleculer/gateway.ts", "bench/moleculer/hello_service.ts"],
    processes: (ctx) => [
      {
        role: "plugin",
        script: "bench/moleculer/hello_service.ts",
        args: ["--nats", ctx.natsUrl],
        ready: /moleculer service ready/,
      },
      {
        role: "gateway",
        script: "bench/moleculer/gateway.ts",
        args: ["--nats", ctx.natsUrl, "--port", String(ctx.httpPort)],
        ready: /moleculer gateway ready/,
      },
    ],
    load: HELLO,
  },
];

/** The argv that runs `script` under `runtime`. */
export function runtimeArgv(runtime: RuntimeName, script: string, args: readonly string[]): string[] {
  switch (runtime) {
    case "deno":
      return ["deno", "run", "-A", script, ...args];
    case "bun":
      return ["bun", "run", script, ...args];
    case "node":
      return ["node", script, ...args];
  }
}
