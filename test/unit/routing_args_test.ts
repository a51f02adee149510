import { test } from "node:test";
import assert from "node:assert/strict";
import { resolveConfig } from "../../src/config/mod.ts";
import { withRouting } from "../../src/cli/routing_args.ts";
import type { PluginSpec } from "../../src/supervisor/mod.ts";

const spec = (requires: Record<string, string>): PluginSpec => ({
  name: "caller",
  module: "/x/mod.ts",
  runtime: "node",
  replicas: 1,
  env: {},
  args: ["--weight", "2"],
  runtimeArgs: [],
  options: undefined,
  requires,
  watchDir: undefined,
});

test("withRouting() passes a caller only its callees' routing rules, never their modules, env or credentials", () => {
  const config = resolveConfig({
    resilience: { retry: { maxAttempts: 2 } },
    plugins: {
      hello: { canary: { "1.0.0": 90, "2.0.0": 10 }, timeoutMs: 500, module: "./hello.ts", env: { SECRET: "s" }, nats: { user: "hello", pass: "hello-secret" } },
      other: { version: "^3", env: { OTHER: "o" } },
    },
  }, {});
  const out = withRouting(spec({ hello: "^1" }), config);
  assert.deepEqual(out.args.slice(0, 2), ["--weight", "2"]);
  assert.equal(out.args[2], "--routing");
  const routing = JSON.parse(out.args[3]!);
  assert.deepEqual(Object.keys(routing.plugins), ["hello"]);
  assert.deepEqual(routing.plugins.hello, { canary: { "1.0.0": 90, "2.0.0": 10 }, timeoutMs: 500 });
  assert.equal(routing.resilience.retry.maxAttempts, 2);
  assert.ok(!out.args[3]!.includes("secret") && !out.args[3]!.includes("SECRET"));
  assert.equal(withRouting(spec({}), config).args.length, 2, "a plugin that calls nobody gets nothing");
});
