// Runs once: it checks the repository's files, which no runtime changes.
/**
 * docs/protocol.md and the conformance checker say the same thing: every rule points at a section
 * that exists and is listed in the document's rule table with the same weight, the documents the
 * page shows pass the checker's schemas, and every link in the page leads somewhere.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { RULES } from "../../src/conformance/mod.ts";
import { HEALTH_SCHEMA, INFO_SCHEMA, PING_SCHEMA, schemaProblems, STATS_SCHEMA } from "../../src/conformance/micro_schemas.ts";
import { INFO_RESPONSE, PING_RESPONSE, STATS_RESPONSE } from "../../src/bus/mod.ts";
import { degradationsOf, Registry } from "../../src/registry/mod.ts";
import type { InfoResponse } from "../../src/bus/mod.ts";

const file = fileURLToPath(new URL("../../docs/protocol.md", import.meta.url));
const doc = readFileSync(file, "utf8");
/** GitHub's heading anchors: lower case, punctuation dropped, spaces to dashes. */
const anchors = new Set([...doc.matchAll(/^#{2,4} (.+)$/gm)].map((m) => m[1]!.trim().toLowerCase().replace(/[^a-z0-9 -]/g, "").replace(/ /g, "-")));

test("protocol.md: every rule's section is a heading, and the rule table lists each rule with its section and weight", () => {
  for (const [id, rule] of Object.entries(RULES)) {
    assert.ok(anchors.has(rule.section), `${id}: no heading for #${rule.section}`);
    const row = new RegExp(`^\\| \`${id.replaceAll(".", "\\.")}\` \\| \\[[^\\]]+\\]\\(#${rule.section}\\) \\| ${rule.required ? "required" : "optional"} \\|`, "m");
    assert.match(doc, row, `${id} in the conformance table`);
  }
  const listed = [...doc.matchAll(/^\| `([a-z_]+\.[a-z_.]+)` \| \[/gm)].map((m) => m[1]);
  assert.deepEqual(listed, Object.keys(RULES), "the table lists the rules in the report's order, and no others");
});

test("protocol.md: every link to a section or a file leads somewhere", () => {
  for (const m of doc.matchAll(/\]\(#([^)]+)\)/g)) assert.ok(anchors.has(m[1]!), `#${m[1]}`);
  for (const m of doc.matchAll(/\]\(((?!https?:|#)[^)#\s]+)(#[^)]*)?\)/g)) {
    assert.ok(existsSync(join(dirname(file), m[1]!)), m[1]);
  }
});

test("protocol.md: the PING, INFO and STATS it shows pass the checker's schemas, and a router admits the INFO", () => {
  const docs = [...doc.matchAll(/```json\n([\s\S]*?)```/g)].map((m) => JSON.parse(m[1]!) as Record<string, unknown>);
  const byType = (type: string) => docs.find((d) => d.type === type)!;
  const ping = byType(PING_RESPONSE), info = byType(INFO_RESPONSE), stats = byType(STATS_RESPONSE);
  assert.deepEqual(schemaProblems(PING_SCHEMA, ping), []);
  assert.deepEqual(schemaProblems(INFO_SCHEMA, info), []);
  assert.deepEqual(schemaProblems(STATS_SCHEMA, stats), []);
  assert.deepEqual(schemaProblems(HEALTH_SCHEMA, stats.health), []);
  assert.deepEqual(degradationsOf(info as unknown as InfoResponse), []);
  const admitted = new Registry("sy").admit(info as unknown as InfoResponse, 0);
  assert.ok(admitted !== undefined && !("reason" in admitted), JSON.stringify(admitted));
});
