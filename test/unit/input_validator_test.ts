import { test } from "node:test";
import assert from "node:assert/strict";
import * as v from "valibot";
import { createInputValidator } from "../../src/registry/mod.ts";
import { jsonSchemaOf } from "../../src/host/schemas.ts";

const schema = jsonSchemaOf(v.object({
  name: v.pipe(v.string(), v.maxLength(5)),
  tags: v.optional(v.array(v.string())),
  address: v.optional(v.object({ "zip/code": v.number() })),
}));
const validate = createInputValidator(schema);

test("createInputValidator() accepts valid input", () => {
  assert.equal(validate({ name: "ok", tags: ["a"] }), undefined);
});

test("createInputValidator() reports each problem by dotted path, leaves only", () => {
  assert.deepEqual(validate({}), [{ path: "name", message: "Required" }]);
  const issues = validate({ name: "toolong", tags: ["a", 5], address: { "zip/code": "x" } })!;
  assert.deepEqual(issues.map((i) => i.path).sort(), ["address.zip/code", "name", "tags.1"]);
  assert.ok(issues.every((i) => i.message.length > 0));
  assert.deepEqual(validate("nope")?.map((i) => i.path), [""]);
});
