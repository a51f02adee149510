import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { PLUGIN_NAME } from "../bus/mod.ts";
import { cliCommand, isInside, PACKAGE_ROOT, parseFlags, print, shellPath, shellQuote, UsageError } from "./command.ts";
import type { Command } from "./command.ts";

const SDK = resolve(dirname(fileURLToPath(import.meta.url)), "../plugin/mod.ts");
const TESTING = resolve(dirname(fileURLToPath(import.meta.url)), "../testing/mod.ts");

export const newCommand: Command = {
  name: "new",
  summary: "scaffold a plugin folder with a test",
  usage: `Usage: switchyard new <name> [--dir plugins] [--stream]

Creates <dir>/<name>/mod.ts (a plugin with one method) and <dir>/<name>/<name>_test.ts (a test
against a real nats-server). Names match ^[a-z][a-z0-9-]{0,62}$.

  --stream   the method streams its answer: an async generator whose items reach the client as
             they are produced (NDJSON or SSE over HTTP; see docs/streaming.md)`,
  run(argv) {
    const { values, positionals } = parseFlags(argv, { dir: { type: "string" }, stream: { type: "boolean" } });
    const name = positionals[0];
    if (name === undefined || !PLUGIN_NAME.test(name)) throw new UsageError(`Give a plugin name matching ${PLUGIN_NAME.source}`);
    const dir = resolve(values.dir ?? "plugins", name);
    if (existsSync(dir)) throw new UsageError(`${dir} already exists`);
    mkdirSync(dir, { recursive: true });
    const importOf = (target: string) => {
      const rel = relative(dir, target).replaceAll("\\", "/");
      return rel.startsWith(".") ? rel : `./${rel}`;
    };
    const file = name.replaceAll("-", "_");
    const scaffold = values.stream === true ? STREAMING : UNARY;
    writeFileSync(join(dir, "mod.ts"), scaffold.plugin(name, importOf(SDK)));
    writeFileSync(join(dir, `${file}_test.ts`), scaffold.test(name, importOf(TESTING)));
    print(`Created ${shellPath(join(dir, "mod.ts"))} and ${file}_test.ts`);
    for (const line of nextSteps(name, join(dir, "mod.ts"), join(dir, `${file}_test.ts`), scaffold.call)) print(line);
    return Promise.resolve(0);
  },
};

/** Commands that work as printed from the current directory. */
function nextSteps(name: string, module: string, testFile: string, call: readonly [method: string, input: string]): string[] {
  const cli = cliCommand();
  const inPackage = isInside(PACKAGE_ROOT, process.cwd());
  const test = inPackage ? `npm test -- ${shellPath(testFile)}` : `bash ${shellPath(join(PACKAGE_ROOT, "scripts", "test.sh"))} ${shellPath(testFile)}`;
  return [
    `Test it:  ${test}`,
    `Run it:   ${cli} plugin ${shellPath(module)}   (NATS on 127.0.0.1:4222, e.g. while "npm run demo" runs; or add --nats URL)`,
    `Call it:  ${cli} call ${name} ${call[0]} ${shellQuote(call[1])}`,
  ];
}

/** What `new` writes: the plugin, its test, and the call it suggests (method, input). */
interface Scaffold {
  plugin(name: string, sdk: string): string;
  test(name: string, testing: string): string;
  call: readonly [method: string, input: string];
}

const UNARY: Scaffold = { plugin: pluginSource, test: testSource, call: ["echo", '{"text":"hi"}'] };
const STREAMING: Scaffold = { plugin: streamingPluginSource, test: streamingTestSource, call: ["count", '{"to":3}'] };

function pluginSource(name: string, sdk: string): string {
  return `import * as v from "valibot";
import { definePlugin } from "${sdk}";

export default definePlugin({
  name: "${name}",
  version: "0.1.0",
  methods: {
    echo: {
      input: v.object({ text: v.pipe(v.string(), v.maxLength(1000)) }),
      output: v.object({ text: v.string() }),
      idempotent: true,
      handler: (input) => ({ text: input.text }),
    },
  },
});
`;
}

function testSource(name: string, testing: string): string {
  return `import { test } from "node:test";
import assert from "node:assert/strict";
import { startPluginHarness } from "${testing}";
import plugin from "./mod.ts";

test("${name}.echo returns its input", async () => {
  await using h = await startPluginHarness(plugin);
  assert.deepEqual(await h.call("echo", { text: "hi" }), { text: "hi" });
});
`;
}

function streamingPluginSource(name: string, sdk: string): string {
  return `import * as v from "valibot";
import { definePlugin } from "${sdk}";

export default definePlugin({
  name: "${name}",
  version: "0.1.0",
  methods: {
    count: {
      input: v.object({ to: v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(100_000)) }),
      output: v.object({ n: v.number() }), // each item
      stream: true,
      idempotent: true, // may be retried, but only before its first item
      // Each item goes out as soon as it is yielded; \`yield\` waits while the client reads slowly.
      handler: async function* (input, ctx) {
        for (let n = 1; n <= input.to; n++) {
          // The client went away, the deadline passed, or a drain ran out of time.
          if (ctx.signal.aborted) return;
          yield { n };
        }
      },
    },
  },
});
`;
}

function streamingTestSource(name: string, testing: string): string {
  return `import { test } from "node:test";
import assert from "node:assert/strict";
import { startPluginHarness } from "${testing}";
import plugin from "./mod.ts";

test("${name}.count streams 1..to in order", async () => {
  await using h = await startPluginHarness(plugin);
  const items: unknown[] = [];
  for await (const item of h.stream("count", { to: 3 })) items.push(item);
  assert.deepEqual(items, [{ n: 1 }, { n: 2 }, { n: 3 }]);
});

test("${name}.count stops when its caller stops reading", async () => {
  await using h = await startPluginHarness(plugin);
  const items: unknown[] = [];
  for await (const item of h.stream("count", { to: 100_000 })) {
    items.push(item);
    if (items.length === 3) break; // cancels the stream: the generator ends
  }
  assert.deepEqual(items, [{ n: 1 }, { n: 2 }, { n: 3 }]);
});
`;
}
