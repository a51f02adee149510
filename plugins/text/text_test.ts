import { test } from "node:test";
import assert from "node:assert/strict";
import { startPluginHarness } from "../../src/testing/mod.ts";
import plugin from "./mod.ts";

test("text methods transform and count", async () => {
  await using h = await startPluginHarness(plugin);
  assert.deepEqual(await h.call("upper", { text: "Straße" }), { text: "STRASSE" });
  assert.deepEqual(await h.call("lower", { text: "ÉCOLE" }), { text: "école" });
  assert.deepEqual(await h.call("reverse", { text: "ab👍🏽c" }), { text: "c👍🏽ba" });
  assert.deepEqual(await h.call("wordCount", { text: "  one two\tthree\nfour " }), { words: 4 });
  assert.deepEqual(await h.call("wordCount", { text: "" }), { words: 0 });
});

test("words streams the words in order", async () => {
  await using h = await startPluginHarness(plugin);
  const words: unknown[] = [];
  for await (const item of h.stream("words", { text: " Hello  streaming\tworld " })) words.push(item);
  assert.deepEqual(words, [{ index: 0, word: "Hello" }, { index: 1, word: "streaming" }, {
    index: 2,
    word: "world",
  }]);
});
