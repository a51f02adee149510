import { test } from "node:test";
import assert from "node:assert/strict";
import { INFO_RESPONSE } from "../../src/bus/mod.ts";
import type { InfoResponse } from "../../src/bus/mod.ts";
import { degradationsOf, Registry } from "../../src/registry/mod.ts";

const SCHEMA = JSON.stringify({ type: "object", properties: { name: { type: "string" } }, required: ["name"] });

function info(meta: Record<string, unknown>, endpointMeta: Record<string, unknown>, endpointName = "greet"): InfoResponse {
  return {
    type: INFO_RESPONSE,
    name: "deg",
    id: "i1",
    version: "1.0.0",
    description: "",
    metadata: { "sy.protocol": "1", ...meta } as Record<string, string>,
    endpoints: [{
      name: endpointName,
      subject: `sy.deg.1_0_0.${endpointName}`,
      queue_group: "deg@1.0.0",
      metadata: { "sy.input_schema": SCHEMA, "sy.output_schema": SCHEMA, ...endpointMeta } as Record<string, string>,
    }],
  };
}

test("degradationsOf() finds nothing in a well-formed INFO", () => {
  assert.deepEqual(degradationsOf(info({ "sy.weight": "2.5", "sy.requires": '{"hello":"^1"}' }, { "sy.idempotent": "true" })), []);
});

test("degradationsOf() names each value the registry replaces with a default, and the registry does replace it", () => {
  const cases: { meta?: Record<string, unknown>; endpoint?: Record<string, unknown>; key: string; registry: (r: Registry) => unknown; expected: unknown }[] = [
    { meta: { "sy.weight": "heavy" }, key: "sy.weight", registry: (r) => r.instance("deg", "i1")!.weight, expected: 1 },
    { meta: { "sy.weight": "-3" }, key: "sy.weight", registry: (r) => r.instance("deg", "i1")!.weight, expected: 1 },
    { meta: { "sy.requires": "{nope" }, key: "sy.requires", registry: (r) => r.get("deg")!.versions.get("1.0.0")!.requires, expected: {} },
    { meta: { "sy.requires": '{"Bad":"^1","ok":"not a range"}' }, key: "sy.requires", registry: (r) => r.get("deg")!.versions.get("1.0.0")!.requires, expected: {} },
    { endpoint: { "sy.input_schema": "{not json" }, key: "sy.input_schema", registry: (r) => method(r).validate({}), expected: undefined },
    { endpoint: { "sy.input_schema": undefined }, key: "sy.input_schema", registry: (r) => method(r).inputSchema, expected: {} },
    { endpoint: { "sy.output_schema": "42" }, key: "sy.output_schema", registry: (r) => method(r).outputSchema, expected: {} },
    { endpoint: { "sy.idempotent": "yes" }, key: "sy.idempotent", registry: (r) => method(r).idempotent, expected: false },
  ];
  for (const c of cases) {
    const i = info(c.meta ?? {}, {});
    for (const [key, value] of Object.entries(c.endpoint ?? {})) {
      if (value === undefined) delete i.endpoints[0]!.metadata[key];
      else i.endpoints[0]!.metadata[key] = value as string;
    }
    const found = degradationsOf(i);
    assert.deepEqual([...new Set(found.map((d) => d.key))], [c.key], JSON.stringify(c));
    const registry = new Registry("sy");
    registry.admit(i, 0);
    assert.deepEqual(c.registry(registry), c.expected, JSON.stringify(c));
  }
});

test("degradationsOf() names an endpoint the registry ignores for its name", () => {
  const i = info({}, {}, "no.dots");
  assert.deepEqual(degradationsOf(i).map((d) => [d.key, d.reason]), [["endpoint", 'endpoint "no.dots" is not a method name: ignored']]);
  const registry = new Registry("sy");
  const entry = registry.admit(i, 0);
  assert.ok(entry !== undefined && !("reason" in entry), "the instance is admitted");
  assert.equal(registry.get("deg")!.versions.get("1.0.0")!.methods.size, 0);
});

test("degradationsOf() quotes a hostile value only in part", () => {
  const i = info({ "sy.weight": "x".repeat(10_000) }, {});
  const [d] = degradationsOf(i);
  assert.ok(d !== undefined && d.reason.length < 200, d?.reason);
});

function method(r: Registry) {
  return r.get("deg")!.versions.get("1.0.0")!.methods.get("greet")!;
}
