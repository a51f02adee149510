import { test } from "node:test";
import assert from "node:assert/strict";
import * as v from "valibot";
import { Validator } from "@cfworker/json-schema";
import { compileAcceptor, isFiniteJson } from "../../src/registry/fast_accept.ts";
import { createInputValidator } from "../../src/registry/mod.ts";
import { jsonSchemaOf } from "../../src/host/schemas.ts";

// Schemas as plugins produce them (valibot → JSON Schema), plus hand-written edge cases.
const SCHEMAS: Record<string, unknown>[] = [
  jsonSchemaOf(v.object({ name: v.pipe(v.string(), v.minLength(1), v.maxLength(5)) })),
  jsonSchemaOf(v.object({ value: v.optional(v.pipe(v.number(), v.integer(), v.minValue(-10), v.maxValue(10)), 1) })),
  jsonSchemaOf(v.object({ tags: v.optional(v.pipe(v.array(v.string()), v.maxLength(3))), flag: v.boolean() })),
  jsonSchemaOf(v.strictObject({ a: v.string(), b: v.nullable(v.number()) })),
  jsonSchemaOf(v.object({ kind: v.picklist(["a", "b"]), code: v.pipe(v.string(), v.regex(/^[a-z]{2}\d$/)) })),
  jsonSchemaOf(v.object({ nested: v.object({ deep: v.array(v.object({ n: v.number() })) }) })),
  { type: "object", properties: { x: { type: "number", exclusiveMinimum: 0, exclusiveMaximum: 1 } }, additionalProperties: { type: "string" } },
  { type: ["string", "null"], minLength: 2 },
  { const: 3 },
  { anyOf: [{ type: "string", maxLength: 1 }, { type: "integer", minimum: 5 }] },
  { allOf: [{ type: "number", minimum: 0 }, { maximum: 3 }] },
  { type: "array", minItems: 1, items: { enum: [1, "x", null] } },
  {},
  { type: "object" },
  { type: "object", properties: { a: { type: "string" } } },
  { type: "array" },
  { minimum: 0 },
  { anyOf: [{ type: "string" }, {}] },
];

const STRINGS = ["", "a", "b", "ab", "aa1", "zz9", "abcde", "abcdef", "😀", "😀😀", "\ud83d", "aa1", "zz9", "A1b", "x".repeat(40)];
// Infinity and -Infinity are what JSON.parse makes of 1e309 and -1e309.
const NUMBERS = [0, 1, -1, 0.5, 3, 10, 11, -10, -11, 1e9, -0.25, Infinity, -Infinity];

/** Every property name a schema mentions, at any depth. */
function propertyNames(schema: unknown, out = new Set<string>()): string[] {
  if (typeof schema === "object" && schema !== null) {
    const props = (schema as { properties?: Record<string, unknown> }).properties;
    for (const k of Object.keys(props ?? {})) out.add(k);
    for (const sub of Object.values(schema)) propertyNames(sub, out);
  }
  return [...out];
}

/** A random JSON value, biased towards the shapes the schemas above ask for (`names`: their keys). */
function randomValue(rand: () => number, depth: number, names: string[]): unknown {
  const r = rand();
  if (depth > 3 || r < 0.35) return STRINGS[Math.floor(rand() * STRINGS.length)];
  if (r < 0.45) return NUMBERS[Math.floor(rand() * NUMBERS.length)];
  if (r < 0.5) return rand() < 0.5;
  if (r < 0.55) return null;
  if (r < 0.7) return Array.from({ length: Math.floor(rand() * 4) }, () => randomValue(rand, depth + 1, names));
  const keys = rand() < 0.7 ? names : [...names, "extra"];
  const out: Record<string, unknown> = {};
  for (const k of keys) if (rand() < 0.7) out[k] = randomValue(rand, depth + 1, names);
  return out;
}

function lcg(seed: number): () => number {
  let s = seed;
  return () => (s = (s * 1103515245 + 12345) % 2147483648) / 2147483648;
}

test("compileAcceptor() never accepts an input @cfworker/json-schema rejects (20,000 random inputs per schema)", () => {
  const rand = lcg(42);
  for (const schema of SCHEMAS) {
    const accept = compileAcceptor(schema);
    assert.ok(accept !== undefined, `an acceptor for ${JSON.stringify(schema)}`);
    const full = new Validator(schema as never, "2020-12", false);
    const names = propertyNames(schema);
    let accepted = 0;
    for (let i = 0; i < 20_000; i++) {
      const input = randomValue(rand, 0, names);
      if (!accept(input)) continue;
      accepted++;
      assert.ok(full.validate(input).valid, `accepted ${JSON.stringify(input)} against ${JSON.stringify(schema)}`);
      assert.ok(isFiniteJson(input), `accepted a non-finite number against ${JSON.stringify(schema)}`);
    }
    assert.ok(accepted > 0, `some inputs pass ${JSON.stringify(schema)}`);
  }
});

test("compileAcceptor() accepts the plain valid inputs, so the full validator is the exception", () => {
  const accept = compileAcceptor(SCHEMAS[0])!;
  assert.equal(accept({ name: "Ada" }), true);
  assert.equal(accept({ name: "😀😀" }), true, "code points, not UTF-16 units");
  assert.equal(accept({ name: "" }), false);
  assert.equal(accept({ name: "abcdef" }), false);
  assert.equal(accept({}), false);
  assert.equal(compileAcceptor(SCHEMAS[1])!({}), true);
  assert.equal(compileAcceptor(SCHEMAS[1])!({ value: 2.5 }), false);
});

test("compileAcceptor() gives no acceptor for keywords it does not know", () => {
  assert.equal(compileAcceptor({ type: "string", format: "email" }), undefined);
  assert.equal(compileAcceptor({ oneOf: [{ type: "string" }] }), undefined);
  assert.equal(compileAcceptor({ anyOf: [{ type: "string", format: "uri" }] }), undefined);
  assert.equal(compileAcceptor({ type: "object", properties: { a: { $ref: "#/x" } } }), undefined);
  assert.equal(compileAcceptor({ type: "number", multipleOf: 2 }), undefined);
});

test("compileAcceptor() and createInputValidator() refuse numbers JSON cannot carry, wherever they sit", () => {
  const inputs = [JSON.parse('{"a":1e309}'), { a: [1, -Infinity] }, { a: { b: NaN } }, Infinity, [Infinity]];
  // Each schema with an input it does accept, so the refusals above are about the numbers alone.
  const cases: [unknown, unknown][] = [
    [true, { a: 1 }],
    [{}, { a: 1 }],
    [{ type: "object" }, { a: [1] }],
    [{ type: "object", properties: { a: {} } }, { a: 1 }],
    [{ type: "array" }, [1]],
    [{ minimum: 0 }, 1],
    [{ type: "number" }, 1],
  ];
  for (const [schema, fine] of cases) {
    const accept = compileAcceptor(schema)!;
    const validate = createInputValidator(schema === true ? {} : schema as Record<string, unknown>);
    assert.equal(accept(fine), true, JSON.stringify(schema));
    for (const input of inputs) {
      assert.equal(accept(input), false, `${JSON.stringify(schema)} accepted a non-finite number`);
      assert.ok(validate(input) !== undefined, `${JSON.stringify(schema)} let a non-finite number through`);
    }
  }
  assert.deepEqual(createInputValidator({ type: "object" })({ a: { b: [0, Infinity] } }), [{ path: "a.b.1", message: "Must be a finite number (the value overflows)" }]);
});
