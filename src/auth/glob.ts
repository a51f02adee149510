/**
 * A glob over names as a RegExp: `*` matches any run of characters, `?` one; everything else is
 * literal. Names carry no dots or slashes, so there is no separator to respect.
 */
export function globToRegExp(glob: string): RegExp {
  let source = "";
  for (const ch of glob) {
    if (ch === "*") source += "[^]*";
    else if (ch === "?") source += "[^]";
    else source += ch.replace(/[\\^$.|+()[\]{}]/g, "\\$&");
  }
  return new RegExp(`^${source}$`);
}

/** One matcher for several globs; `*` alone short-cuts to a constant. */
export function globsMatcher(globs: readonly string[]): (name: string) => boolean {
  if (globs.includes("*")) return () => true;
  const literal = globs.filter((g) => !/[*?]/.test(g));
  const res = globs.filter((g) => /[*?]/.test(g)).map(globToRegExp);
  if (res.length === 0) {
    const names = new Set(literal);
    return (name) => names.has(name);
  }
  return (name) => {
    if (literal.includes(name)) return true;
    for (let i = 0; i < res.length; i++) if (res[i]!.test(name)) return true;
    return false;
  };
}
