import { lstatSync, readdirSync, readlinkSync, realpathSync } from "node:fs";
import { dirname, isAbsolute, join, relative, resolve, sep } from "node:path";
import type { PluginPermissions } from "./sandbox.ts";

/** Entries looked at per granted folder at most: a bigger tree is refused rather than half checked. */
export const MAX_GRANT_ENTRIES = 100_000;

/**
 * Why the manifest's `read` and `write` grants cannot be given as named: Deno checks a path as the
 * plugin names it, not where a symbolic link leads, so `./data/passwd → /etc/passwd` inside a
 * granted `./data` would read `/etc/passwd`. A grant is refused when it is a link itself, when a
 * relative one leads out of the plugin folder, or when a link inside it leads out of it (dangling
 * ones by where they point). Links made after the start are not seen here; the sandbox keeps the
 * plugin itself from making any (Deno requires unscoped read and write for `Deno.symlink`).
 * @returns one sentence per problem; none when the grants are safe as named.
 */
export function grantProblems(permissions: PluginPermissions, pluginDir: string): string[] {
  if (permissions === "all") return [];
  const problems: string[] = [];
  const realPluginDir = realOrSelf(pluginDir);
  for (const kind of ["read", "write"] as const) {
    const grant = permissions[kind];
    if (grant === undefined || grant === true) continue;
    for (const named of grant) {
      const path = isAbsolute(named) ? named : resolve(pluginDir, named);
      let stat;
      try {
        stat = lstatSync(path);
      } catch {
        continue; // nothing there (yet): nothing to follow
      }
      const real = realOrSelf(path);
      if (stat.isSymbolicLink()) {
        problems.push(`${kind} grant "${named}" is a symbolic link to ${real}: grant ${real} itself`);
        continue;
      }
      if (!isAbsolute(named) && !within(real, realPluginDir)) {
        problems.push(`${kind} grant "${named}" leads to ${real}, outside the plugin folder`);
        continue;
      }
      if (stat.isDirectory()) problems.push(...linksOut(path, real, `${kind} grant "${named}"`));
    }
  }
  return problems;
}

/** Symbolic links under `dir` that lead outside `realDir`. */
function linksOut(dir: string, realDir: string, what: string): string[] {
  const problems: string[] = [];
  const stack = [dir];
  let seen = 0;
  while (stack.length > 0) {
    const current = stack.pop()!;
    let entries;
    try {
      entries = readdirSync(current, { withFileTypes: true });
    } catch {
      continue;
    }
    for (const entry of entries) {
      if (++seen > MAX_GRANT_ENTRIES) {
        return [`${what} holds more than ${MAX_GRANT_ENTRIES} entries: too many to check for symbolic links`];
      }
      const path = join(current, entry.name);
      if (entry.isSymbolicLink()) {
        const target = realOrLink(path);
        if (!within(target, realDir)) {
          problems.push(
            `${what}: ${relative(dir, path)} is a symbolic link to ${target}, outside the granted folder`,
          );
        }
      } else if (entry.isDirectory()) stack.push(path);
    }
  }
  return problems;
}

/** True when `path` is `dir` or lies below it. */
function within(path: string, dir: string): boolean {
  return path === dir || path.startsWith(dir.endsWith(sep) ? dir : dir + sep);
}

function realOrSelf(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return resolve(path);
  }
}

/** Where a link leads: its real target, or for a dangling one the path it names. */
function realOrLink(link: string): string {
  try {
    return realpathSync(link);
  } catch {
    try {
      return resolve(dirname(link), readlinkSync(link));
    } catch {
      return link;
    }
  }
}
