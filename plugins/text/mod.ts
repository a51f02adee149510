import * as v from "valibot";
import { definePlugin } from "../../src/plugin/mod.ts";

const Text = v.object({ text: v.pipe(v.string(), v.maxLength(100_000)) });
const TextOut = v.object({ text: v.string() });

/** Resolves after `ms`, or at once when `signal` aborts (the client went away). */
function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => {
      clearTimeout(timer);
      resolve();
    }, { once: true });
  });
}

/** Small text transformations. */
export default definePlugin({
  name: "text",
  version: "1.0.0",
  description: "Upper-cases, lower-cases, reverses, streams and counts words.",
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
    words: {
      input: v.object({ text: Text.entries.text, delayMs: v.optional(v.pipe(v.number(), v.minValue(0), v.maxValue(5_000)), 0) }),
      output: v.object({ index: v.number(), word: v.string() }),
      idempotent: true,
      stream: true,
      description: "Streams the words one by one, `delayMs` apart (NDJSON, or SSE with Accept: text/event-stream).",
      handler: async function* (i, ctx) {
        let index = 0;
        for (const word of i.text.split(/\s+/u)) {
          if (word === "") continue;
          if (index > 0 && i.delayMs > 0) await pause(i.delayMs, ctx.signal);
          if (ctx.signal.aborted) return;
          yield { index: index++, word };
        }
      },
    },
    wordCount: {
      input: Text,
      output: v.object({ words: v.number() }),
      idempotent: true,
      handler: (i) => ({ words: i.text.split(/\s+/u).filter((w) => w !== "").length }),
    },
  },
});
