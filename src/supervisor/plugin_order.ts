/**
 * Sorts plugins so each starts after the plugins it requires (manifest `requires`). Requirements
 * on plugins not in the list are left to the bus (the catalog reports them when unmet).
 * @throws {Error} naming the cycle, e.g. `Plugin requirements form a cycle: a → b → a`.
 */
export function orderByRequirements<T extends { name: string; requires: Readonly<Record<string, string>> }>(plugins: readonly T[]): T[] {
  const byName = new Map(plugins.map((p) => [p.name, p]));
  const state = new Map<string, "visiting" | "done">();
  const ordered: T[] = [];
  const visit = (plugin: T, path: string[]): void => {
    const seen = state.get(plugin.name);
    if (seen === "done") return;
    if (seen === "visiting") {
      const cycle = [...path.slice(path.indexOf(plugin.name)), plugin.name];
      throw new Error(`Plugin requirements form a cycle: ${cycle.join(" → ")} (see their plugin.json "requires")`);
    }
    state.set(plugin.name, "visiting");
    for (const name of Object.keys(plugin.requires).sort()) {
      const required = byName.get(name);
      if (required !== undefined) visit(required, [...path, plugin.name]);
    }
    state.set(plugin.name, "done");
    ordered.push(plugin);
  };
  for (const plugin of plugins) visit(plugin, []);
  return ordered;
}
