import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readPluginCode, scanImports } from "../../src/supervisor/mod.ts";

test("scanImports() finds static, side-effect, re-export, dynamic and require specifiers, and skips comments, strings and regexes", () => {
  const source = [
    "#!/usr/bin/env -S deno run",
    'import * as v from "valibot";',
    "import type { X } from './types.ts';",
    'export { y } from "./y.ts";',
    'import "./side.ts";',
    '// import "./line-comment.ts"',
    '/* import("./block-comment.ts") */',
    "const s = 'import \"./in-string.ts\"';",
    'const r = /"/g; import { z } from "./after-regex.ts";',
    'const t = `from "./in-template.ts" ${await import("./in-substitution.ts")}`;',
    'await import("./dynamic.ts", { with: { type: "json" } });',
    "await import(`./template.ts`);",
    'const m = require("./required.cjs");',
    'x = a / b; import w from "./after-division.ts";',
    "obj.import(name); obj.require(name); function require(n) {}",
  ].join("\n");
  const { imports, computed } = scanImports(source);
  assert.deepEqual(imports.map((i) => i.specifier), [
    "valibot",
    "./types.ts",
    "./y.ts",
    "./side.ts",
    "./after-regex.ts",
    "./in-substitution.ts",
    "./dynamic.ts",
    "./template.ts",
    "./required.cjs",
    "./after-division.ts",
  ]);
  assert.deepEqual(computed, []);
  assert.equal(imports.find((i) => i.specifier === "./after-regex.ts")!.line, 9);
});

test("scanImports() reports import(), require(), eval() and Function() of what no literal names, by line", () => {
  const source = [
    'await import("./" + name);',
    "await import(name);",
    "await import(`./${name}.ts`);",
    "require(x);",
    'eval("1");',
    'new Function("return 1");',
  ].join("\n");
  assert.deepEqual(scanImports(source).computed, [
    { kind: "import()", line: 1 },
    { kind: "import()", line: 2 },
    { kind: "import()", line: 3 },
    { kind: "require()", line: 4 },
    { kind: "eval()", line: 5 },
    { kind: "Function()", line: 6 },
  ]);
});

test("readPluginCode() lists what an allow-list refuses: missing extensions, folders, computed loads, absolute and #imports, own node_modules", () => {
  const dir = mkdtempSync(join(tmpdir(), "sy-code-"));
  try {
    const plugin = join(dir, "p");
    mkdirSync(join(plugin, "lib"), { recursive: true });
    mkdirSync(join(plugin, "node_modules"));
    writeFileSync(join(plugin, "helper.ts"), "export const a = 1;\n");
    writeFileSync(join(plugin, "lib", "index.ts"), "export const b = 2;\n");
    writeFileSync(join(plugin, "ok.ts"), "export const c = 3;\n");
    writeFileSync(
      join(plugin, "mod.ts"),
      [
        'import "./ok.ts";',
        'import "./helper";',
        'import "./lib";',
        "await import(name);",
        `import "${join(plugin, "ok.ts")}";`,
        'import "#internal";',
      ].join("\n"),
    );
    const code = readPluginCode(join(plugin, "mod.ts"));
    assert.deepEqual(code.files.map((f) => f.path), [join(plugin, "mod.ts"), join(plugin, "ok.ts")]);
    assert.equal(code.root, dir, "at least the plugin folder's parent");
    const problems = code.problems.join("\n");
    assert.match(problems, /mod\.ts:2 imports "\.\/helper", which is no file/);
    assert.match(problems, /mod\.ts:3 imports "\.\/lib", which is a folder/);
    assert.match(problems, /mod\.ts:4 loads code that no literal names \(import\(\)\)/);
    assert.match(problems, /mod\.ts:5 imports ".*ok\.ts" by an absolute path/);
    assert.match(problems, /mod\.ts:6 imports "#internal" through package.json "imports"/);
    assert.match(problems, /node_modules of its own \(node_modules\)/);
    assert.equal(code.problems.length, 6);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
