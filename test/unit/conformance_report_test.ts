import { test } from "node:test";
import assert from "node:assert/strict";
import { ReportBuilder, formatReport } from "../../src/conformance/report.ts";
import { violatingInputs } from "../../src/conformance/violating_input.ts";
import { RULES } from "../../src/conformance/rules.ts";
import { createInputValidator } from "../../src/registry/mod.ts";

const target = { plugin: "hello", prefix: "sy", instance: "h1", version: "1.2.0" };

test("ReportBuilder: a rule checked several times fails if any check failed, and keeps only the failures' notes", () => {
  const b = new ReportBuilder();
  b.pass("reply.headers", "first reply fine");
  b.fail("reply.headers", "sy-instance is missing (reply on a)");
  b.pass("reply.headers");
  b.fail("reply.headers", "sy-instance is missing (reply on b)");
  b.skip("srv.ping", "later");
  b.pass("srv.ping");
  const report = b.build(target);
  const headers = report.results.find((r) => r.id === "reply.headers")!;
  assert.equal(headers.status, "fail");
  assert.equal(headers.detail, "sy-instance is missing (reply on a); sy-instance is missing (reply on b)");
  assert.equal(headers.section, "docs/protocol.md#replies");
  assert.equal(report.results.find((r) => r.id === "srv.ping")!.status, "pass");
  assert.equal(report.ok, false);
  assert.equal(report.results.length, Object.keys(RULES).length, "every rule is in the report, unchecked ones skipped");
  assert.equal(report.passed + report.failed + report.skipped, report.results.length);
});

test("ReportBuilder: an optional rule that fails warns without making the instance non-conforming", () => {
  const b = new ReportBuilder();
  b.fail("errors.method_not_found", "an unknown method on x: got 500 plugin_error, expected 404 method_not_found");
  b.skipRest("not checked here");
  const report = b.build(target);
  assert.equal(report.ok, true);
  assert.equal(report.failed, 1);
  const text = formatReport(report);
  assert.match(text, /^ {2}WARN {2}errors\.method_not_found /m);
  assert.match(text, /^CONFORMS: 0 passed, 1 failed \(0 required\), \d+ skipped$/m);
});

test("violatingInputs() returns only inputs the schema rejects: a wrong type and a broken property rule", () => {
  const schema = { type: "object", properties: { name: { type: "string", minLength: 1 }, n: { type: "integer" } }, required: ["name"] };
  const inputs = violatingInputs(schema);
  assert.deepEqual(inputs, ["conformance: not the declared input", {}]);
  const validate = createInputValidator(schema);
  for (const input of inputs) assert.notEqual(validate(input), undefined, JSON.stringify(input));
  // All properties optional: the property of the wrong type is the one that breaks it.
  assert.deepEqual(violatingInputs({ type: "object", properties: { value: { type: "integer" } } }), ["conformance: not the declared input", { value: "conformance" }]);
  assert.deepEqual(violatingInputs({ type: "object", additionalProperties: false }), ["conformance: not the declared input", { conformance_unexpected_property: true }]);
  // A schema that accepts everything has no violating input.
  assert.deepEqual(violatingInputs({}), []);
});
