import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const SDK = pathToFileURL(join(fileURLToPath(new URL("../..", import.meta.url)), "src/plugin/mod.ts")).href;

/**
 * The source of a plugin `reloadable` whose `who` answers its version after 5 ms, for tests that
 * rewrite a plugin's code while it serves; `broken` makes its `init` throw.
 */
export function reloadableSource(version: string, broken = false): string {
  return `import * as v from "valibot";
import { definePlugin } from ${JSON.stringify(SDK)};
export default definePlugin({
  name: "reloadable",
  version: ${JSON.stringify(version)},
  methods: {
    who: {
      input: v.object({}),
      output: v.object({ version: v.string() }),
      handler: async () => {
        await new Promise((resolve) => setTimeout(resolve, 5));
        return { version: ${JSON.stringify(version)} };
      },
    },
  },${broken ? `\n  init: () => {\n    throw new Error("v${version} cannot start: DATABASE_URL is not set");\n  },` : ""}
});
`;
}
