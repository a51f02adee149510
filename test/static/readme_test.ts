// Runs once: it checks the repository's files, which no runtime changes.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parse as parseYaml } from "yaml";
import { resolveConfig } from "../../src/config/mod.ts";

const root = fileURLToPath(new URL("../../", import.meta.url));
const readme = readFileSync(`${root}README.md`, "utf8");

test("README: every JSON and YAML config example is a valid switchyard config", () => {
  const blocks = [
    ...[...readme.matchAll(/```json\n([\s\S]*?)```/g)].map((m) => JSON.parse(m[1]!) as unknown),
    ...[...readme.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => parseYaml(m[1]!) as unknown),
  ];
  assert.ok(blocks.length >= 4, `found ${blocks.length} config examples`);
  for (const block of blocks) assert.doesNotThrow(() => resolveConfig(block, {}), JSON.stringify(block).slice(0, 120));
});

test("README: every relative link points at a file that exists", () => {
  const links = [...readme.matchAll(/\]\(((?!https?:|#)[^)#\s]+)(#[^)]*)?\)/g)].map((m) => m[1]!);
  assert.ok(links.length >= 10, `found ${links.length} links`);
  for (const link of links) assert.ok(existsSync(`${root}${link}`), `README links ${link}`);
});
