// Runs once: it checks the repository's files, which no runtime changes.
/**
 * The house's floors point down: each folder of `src/` may import only from folders on lower
 * floors (or from itself), and no files import each other in a circle. The floors, written down
 * once, bottom first:
 *
 *  0  errors.ts, deps.ts, diff.ts, bytes.ts   what everything may use
 *  1  runtime/                             Deno, Bun and Node specifics
 *  2  bus/                                 NATS: subjects, headers, request/reply, micro protocol
 *  3  plugin/                              the SDK plugin authors import
 *  4  registry/ resilience/ auth/ telemetry/   state and policies, each on its own
 *  5  balancing/ conformance/               picks instances from the registry; checks an instance against the protocol
 *  6  pipeline/                            one request's steps, for the router and ctx.call
 *  7  router/ host/ supervisor/            the three processes' cores
 *  8  config/                              composes every module's option schema
 *  9  testing/                             harnesses (they start hosts)
 * 10  cli/, mod.ts                         composition roots
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, normalize, relative } from "node:path";
import { fileURLToPath } from "node:url";

const FLOORS: Readonly<Record<string, number>> = {
  "errors.ts": 0,
  "deps.ts": 0,
  "diff.ts": 0,
  "bytes.ts": 0,
  runtime: 1,
  bus: 2,
  plugin: 3,
  registry: 4,
  resilience: 4,
  auth: 4,
  telemetry: 4,
  balancing: 5,
  conformance: 5,
  pipeline: 6,
  router: 7,
  host: 7,
  supervisor: 7,
  config: 8,
  testing: 9,
  cli: 10,
  "mod.ts": 10,
};

const SRC = fileURLToPath(new URL("../../src/", import.meta.url));
const IMPORT = /(?:^|\n)\s*(?:import|export)\s[^;]*?from\s+["'](\.{1,2}\/[^"']+)["']/g;

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? files(path) : name.endsWith(".ts") ? [path] : [];
  });
}

/** `router/invoke.ts` → `router`; `errors.ts` → `errors.ts`. */
const roomOf = (file: string) => relative(SRC, file).split(/[\\/]/)[0]!;

const graph = new Map<string, string[]>();
for (const file of files(SRC)) {
  const text = readFileSync(file, "utf8");
  const targets = [...text.matchAll(IMPORT)].map((m) => normalize(join(dirname(file), m[1]!)));
  graph.set(file, targets.filter((t) => t.startsWith(SRC)));
}

test("every folder of src/ has a floor", () => {
  const rooms = new Set([...graph.keys()].map(roomOf));
  assert.deepEqual([...rooms].filter((r) => FLOORS[r] === undefined), []);
});

test("imports only point down: no folder imports from its own floor or a higher one", () => {
  const upward: string[] = [];
  for (const [file, targets] of graph) {
    const from = roomOf(file);
    for (const target of targets) {
      const to = roomOf(target);
      if (to !== from && FLOORS[to]! >= FLOORS[from]!) upward.push(`${relative(SRC, file)} → ${relative(SRC, target)}`);
    }
  }
  assert.deepEqual(upward, []);
});

test("no file imports itself through a circle", () => {
  const circles: string[] = [];
  const state = new Map<string, "open" | "done">();
  const stack: string[] = [];
  const visit = (file: string) => {
    state.set(file, "open");
    stack.push(file);
    for (const next of graph.get(file) ?? []) {
      if (state.get(next) === "open") circles.push(stack.slice(stack.indexOf(next)).concat(next).map((f) => relative(SRC, f)).join(" → "));
      else if (!state.has(next) && graph.has(next)) visit(next);
    }
    stack.pop();
    state.set(file, "done");
  };
  for (const file of graph.keys()) if (!state.has(file)) visit(file);
  assert.deepEqual(circles, []);
});
