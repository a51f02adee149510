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
  const res = globs.map(globToRegExp);
  return (name) => res.some((re) => re.test(name));
}
