import { test } from "node:test";
import assert from "node:assert/strict";
import { eventsSubject, instanceSubjectBase, queueGroup, versionSubjectBase, versionToken } from "../../src/bus/mod.ts";

test("versionToken() turns a semver into one subject token", () => {
  assert.equal(versionToken("1.2.0"), "1_2_0");
  assert.equal(versionToken("2.0.0-rc.1+build.7"), "2_0_0-rc_1~build_7");
  assert.doesNotMatch(versionToken("10.20.30-alpha.beta+exp.sha.5114f85"), /[.*> ]/);
});

test("subject builders follow the protocol", () => {
  assert.equal(versionSubjectBase("sy", "hello", "1.2.0"), "sy.hello.1_2_0");
  assert.equal(instanceSubjectBase("sy", "hello", "abc"), "sy.$i.hello.abc");
  assert.equal(queueGroup("hello", "1.2.0"), "hello@1.2.0");
  assert.equal(eventsSubject("sy", "hello"), "sy.$events.hello");
});
