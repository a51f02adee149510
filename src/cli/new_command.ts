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
  usage: `Usage: switchyard new <name> [--dir plugins]

Creates <dir>/<name>/mod.ts (a plugin with one method) and <dir>/<name>/<name>_test.ts (a test
against a real nats-server). Names match ^[a-z][a-z0-9-]{0,62}$.`,
  run(argv) {
    const { values, positionals } = parseFlags(argv, { dir: { type: "string" } });
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
    writeFileSync(join(dir, "mod.ts"), pluginSource(name, importOf(SDK)));
    writeFileSync(join(dir, `${file}_test.ts`), testSource(name, importOf(TESTING)));
    print(`Created ${shellPath(join(dir, "mod.ts"))} and ${file}_test.ts`);
    for (const line of nextSteps(name, join(dir, "mod.ts"), join(dir, `${file}_test.ts`))) print(line);
    return Promise.resolve(0);
  },
};

/** Commands that work as printed from the current directory. */
function nextSteps(name: string, module: string, testFile: string): string[] {
  const cli = cliCommand();
  const inPackage = isInside(PACKAGE_ROOT, process.cwd());
  const test = inPackage ? `npm test -- ${shellPath(testFile)}` : `bash ${shellPath(join(PACKAGE_ROOT, "scripts", "test.sh"))} ${shellPath(testFile)}`;
  return [
    `Test it:  ${test}`,
    `Run it:   ${cli} plugin ${shellPath(module)}   (NATS on 127.0.0.1:4222, e.g. while "npm run demo" runs; or add --nats URL)`,
    `Call it:  ${cli} call ${name} echo ${shellQuote('{"text":"hi"}')}`,
  ];
}

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
