import * as v from "valibot";
import { definePlugin } from "../../src/plugin/mod.ts";

const Text = v.object({ text: v.pipe(v.string(), v.maxLength(100_000)) });
const TextOut = v.object({ text: v.string() });

/** Small text transformations. */
export default definePlugin({
  name: "text",
  version: "1.0.0",
  description: "Upper-cases, lower-cases, reverses and counts words.",
  methods: {
    upper: { input: Text, output: TextOut, idempotent: true, handler: (i) => ({ text: i.text.toUpperCase() }) },
    lower: { input: Text, output: TextOut, idempotent: true, handler: (i) => ({ text: i.text.toLowerCase() }) },
    reverse: {
      input: Text,
      output: TextOut,
      idempotent: true,
      description: "Reverses by grapheme, so emoji and accents survive.",
      handler: (i) => ({ text: [...new Intl.Segmenter().segment(i.text)].map((s) => s.segment).reverse().join("") }),
    },
    wordCount: {
      input: Text,
      output: v.object({ words: v.number() }),
      idempotent: true,
      handler: (i) => ({ words: i.text.split(/\s+/u).filter((w) => w !== "").length }),
    },
  },
});
