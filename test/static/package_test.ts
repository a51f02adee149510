// Runs once: it checks the repository's files, which no runtime changes.
import { test } from "node:test";
import assert from "node:assert/strict";
import { accessSync, constants, existsSync, readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { spawnSync } from "node:child_process";

const root = fileURLToPath(new URL("../../", import.meta.url));
const pkg = JSON.parse(readFileSync(`${root}package.json`, "utf8")) as {
  bin: Record<string, string>;
  exports: Record<string, string>;
  imports: Record<string, string>;
};

test("package.json: every bin, export and import points at a file that exists", () => {
  const paths = [...Object.values(pkg.bin), ...Object.values(pkg.exports), ...Object.values(pkg.imports)];
  assert.ok(paths.length >= 4, "bin, exports and imports are declared");
  for (const path of paths) assert.ok(existsSync(`${root}${path}`), `${path} exists`);
  for (const path of Object.values(pkg.bin)) accessSync(`${root}${path}`, constants.X_OK);
});

test("the package's entry points load and export what their docs name", async () => {
  const main = await import("../../src/mod.ts");
  for (const name of ["createRouter", "servePlugin", "connectBus", "RequestMux", "Registry", "loadConfig", "SwitchyardError"]) {
    assert.equal(typeof (main as Record<string, unknown>)[name], "function", name);
  }
  const sdk = await import("../../src/plugin/mod.ts");
  assert.equal(typeof sdk.definePlugin, "function");
  assert.equal(typeof sdk.PluginError, "function");
  const testing = await import("../../src/testing/mod.ts");
  assert.equal(typeof testing.startNatsServer, "function");
});

test("the switchyard bin prints its help and exits 0", () => {
  const run = spawnSync(`${root}${pkg.bin.switchyard}`, ["--help"], { encoding: "utf8", timeout: 20_000 });
  assert.equal(run.status, 0, run.stderr);
  assert.match(run.stdout, /Usage: switchyard <command>/);
});

test("every package the source loads at run time is a dependency, not a devDependency", () => {
  const { name: self, dependencies } = JSON.parse(readFileSync(`${root}package.json`, "utf8")) as { name: string; dependencies: Record<string, string> };
  const missing = new Set<string>();
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = `${dir}/${entry.name}`;
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith(".ts") && !entry.name.endsWith(".d.ts")) {
        for (const line of readFileSync(path, "utf8").split("\n")) {
          // type-only imports are erased before anything runs; comments and examples load nothing
          if (/^\s*((import|export) type |\*|\/\/|\/\*)/.test(line)) continue;
          for (const m of line.matchAll(/(?:from |import\()\s*"([^".][^"]*)"/g)) {
            const spec = m[1]!;
            if (/^(node:|#|npm:|jsr:)/.test(spec) || spec.includes("${")) continue;
            const name = spec.startsWith("@") ? spec.split("/").slice(0, 2).join("/") : spec.split("/")[0]!;
            if (name !== self && !(name in dependencies)) missing.add(`${name} (${path.slice(root.length)})`);
          }
        }
      }
    }
  };
  walk(`${root}src`);
  // The OTLP receiver of this project's own tests: not exported by switchyard/testing.
  missing.delete("protobufjs (src/testing/otlp_receiver.ts)");
  assert.deepEqual([...missing], []);
});
