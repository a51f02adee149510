import type { PluginEntry, Registry } from "../registry/mod.ts";

/** What the catalog adds to the registry's entries. */
export interface CatalogView {
  registry: Registry;
  now: number;
  /** The balancing strategy of this plugin. */
  balancer?: string;
}

/** The JSON shape of one plugin in `GET /v1/plugins`. */
export function describePlugin(plugin: PluginEntry, view?: CatalogView) {
  const now = view?.now ?? Date.now();
  return {
    name: plugin.name,
    ...(view?.balancer === undefined ? {} : { balancer: view.balancer }),
    versions: [...plugin.versions.values()].map((v) => ({
      version: v.version,
      requires: v.requires,
      unmetRequirements: view === undefined
        ? []
        : Object.entries(v.requires).filter(([name, range]) => !view.registry.pick(name, range)).map(([name, range]) => ({ plugin: name, range })),
      methods: [...v.methods.values()].map((m) => ({
        name: m.name,
        description: m.description,
        idempotent: m.idempotent,
        ...(m.stream ? { stream: true } : {}),
        input: m.inputSchema,
        output: m.outputSchema,
      })),
      instances: [...v.instances.values()].map((i) => ({
        id: i.id,
        runtime: i.runtime,
        host: i.host,
        draining: i.draining,
        health: i.health,
        inFlight: i.pending,
        latencyEwmaMs: Math.round(i.ewmaMs * 100) / 100,
        weight: i.weight,
        consecutiveFailures: i.failures,
        ejected: i.ejectedUntil > now,
        ejections: i.ejections,
        ...(i.ejectedUntil > now ? { ejectedUntil: new Date(i.ejectedUntil).toISOString() } : {}),
      })),
    })),
  };
}

/**
 * What a caller who is not an admin sees of one plugin in `GET /v1/plugins`: its versions and the
 * methods it may call, with their schemas. Instances (ids, hosts, load), balancing, dependencies and
 * drain state are for admins: they describe the deployment, not the API.
 */
export function describeForCaller(plugin: PluginEntry, mayCall: (method: string) => boolean) {
  return {
    name: plugin.name,
    versions: [...plugin.versions.values()].map((v) => ({
      version: v.version,
      methods: [...v.methods.values()].filter((m) => mayCall(m.name)).map((m) => ({
        name: m.name,
        description: m.description,
        idempotent: m.idempotent,
        ...(m.stream ? { stream: true } : {}),
        input: m.inputSchema,
        output: m.outputSchema,
      })),
    })),
  };
}
