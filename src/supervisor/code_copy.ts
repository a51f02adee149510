import { randomBytes } from "node:crypto";
import {
  chmodSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readlinkSync,
  realpathSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import { readPluginCode } from "./code_hash.ts";
import type { PluginCode } from "./code_hash.ts";

/** Code an instance may run: a read-only copy, hashed again from the copy. */
export interface VerifiedCode {
  /** The entry module inside the copy: what the instance is started on. */
  readonly entry: string;
  /** `<cache>/<hex>`: the copy. */
  readonly dir: string;
  /** The digest of the copy's files (the same as the approved code's, or this throws). */
  readonly digest: string;
  /** The copy's files (absolute), for the sandbox's read permission. */
  readonly files: readonly string[];
}

/** `<tmpdir>/switchyard-code-<uid>`: the default place of verified copies. */
export function defaultCodeCache(): string {
  return join(tmpdir(), `switchyard-code-${process.getuid?.() ?? "user"}`);
}

/**
 * Writes `code` (the bytes that were hashed) to `<cacheDir>/<hex>/…` with the layout it has below
 * `code.root`, read-only, links the project's `node_modules` beside it (bare imports resolve
 * there, as they did from the original), and hashes the copy again: the instance runs exactly
 * the approved bytes, whatever happens to the plugin folder after the check. A copy that is
 * already there is reused only if it still hashes the same; otherwise it is made again.
 * @throws {Error} when the cache folder is not private to this user, or the copy does not hash
 * as `code` did.
 */
export function verifiedCopy(code: PluginCode, cacheDir: string): VerifiedCode {
  ensurePrivateDir(cacheDir);
  const dir = join(cacheDir, code.digest.slice("sha256:".length));
  const entry = join(dir, relative(code.root, code.entry));
  if (existsSync(dir)) {
    const found = check(code, dir, entry);
    if (found !== undefined) return found;
    removeTree(dir);
  }
  const tmp = join(cacheDir, `.tmp-${randomBytes(6).toString("hex")}`);
  mkdirSync(tmp, { mode: 0o700 });
  try {
    for (const file of code.files) {
      const target = join(tmp, relative(code.root, file.path));
      mkdirSync(dirname(target), { recursive: true, mode: 0o700 });
      writeFileSync(target, file.bytes, { mode: 0o444, flag: "wx" });
    }
    const modules = dependencyFolder(code.root);
    if (modules !== undefined) symlinkSync(modules, join(tmp, "node_modules"), "dir");
    readOnlyTree(tmp);
    renameSync(tmp, dir);
  } catch (err) {
    removeTree(tmp);
    // Another supervisor made the same copy at the same moment: use it if it checks out.
    const found = existsSync(dir) ? check(code, dir, entry) : undefined;
    if (found !== undefined) return found;
    throw err;
  }
  const found = check(code, dir, entry);
  if (found === undefined) throw new Error(`the copy of its code in ${dir} does not hash as ${code.digest}`);
  return found;
}

/** The copy, if it hashes as `code`, names the same files and links the same `node_modules`. */
function check(code: PluginCode, dir: string, entry: string): VerifiedCode | undefined {
  let again: PluginCode;
  try {
    again = readPluginCode(entry);
    const link = join(dir, "node_modules");
    if ((existsSync(link) ? readlinkSync(link) : undefined) !== dependencyFolder(code.root)) return undefined;
  } catch {
    return undefined;
  }
  if (again.digest !== code.digest || again.files.length !== code.files.length || again.problems.length > 0) {
    return undefined;
  }
  return { entry, dir, digest: again.digest, files: again.files.map((f) => f.path) };
}

/**
 * The `node_modules` that bare imports from `root` resolve to (the nearest one at or above it),
 * by its real path.
 */
function dependencyFolder(root: string): string | undefined {
  for (let dir = root;; dir = dirname(dir)) {
    const folder = join(dir, "node_modules");
    if (existsSync(folder)) return realpathSync(folder);
    if (dirname(dir) === dir) return undefined;
  }
}

/** Creates `dir` (0700) or checks that it is a real folder of this user that nobody else may write. */
function ensurePrivateDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const stat = lstatSync(dir);
  const uid = process.getuid?.();
  if (!stat.isDirectory() || stat.isSymbolicLink()) throw new Error(`the code cache ${dir} is not a folder`);
  if (uid !== undefined && stat.uid !== uid) {
    throw new Error(`the code cache ${dir} belongs to another user (uid ${stat.uid})`);
  }
  if ((stat.mode & 0o022) !== 0) {
    throw new Error(
      `the code cache ${dir} may be written by others (mode ${(stat.mode & 0o777).toString(8)})`,
    );
  }
}

/** Folders 0555 (files were written 0444), deepest first; the `node_modules` link is left alone. */
function readOnlyTree(dir: string): void {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.isDirectory()) readOnlyTree(join(dir, entry.name));
  }
  chmodSync(dir, 0o555);
}

/** Removes a copy (its folders are read-only, so they are made writable first). */
export function removeTree(dir: string): void {
  const writable = (d: string) => {
    try {
      chmodSync(d, 0o700);
      for (const entry of readdirSync(d, { withFileTypes: true })) {
        if (entry.isDirectory()) writable(join(d, entry.name));
      }
    } catch {
      // gone already
    }
  };
  writable(dir);
  rmSync(dir, { recursive: true, force: true });
}
