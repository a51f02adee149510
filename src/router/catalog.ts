import type { PluginEntry } from "../registry/mod.ts";

/** The JSON shape of one plugin in `GET /v1/plugins`. */
export function describePlugin(plugin: PluginEntry) {
  return {
    name: plugin.name,
    versions: [...plugin.versions.values()].map((v) => ({
      version: v.version,
      methods: [...v.methods.values()].map((m) => ({
        name: m.name,
        description: m.description,
        idempotent: m.idempotent,
        input: m.inputSchema,
        output: m.outputSchema,
      })),
      instances: [...v.instances.values()].map((i) => ({
        id: i.id,
        runtime: i.runtime,
        host: i.host,
        draining: i.draining,
      })),
    })),
  };
}
