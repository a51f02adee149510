import { createHash } from "node:crypto";
import { existsSync, readFileSync, statSync } from "node:fs";
import { dirname, isAbsolute, join, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { scanImports } from "./module_imports.ts";

/** Files followed at most: a guard against pathological trees. */
const MAX_FILES = 5_000;
/** Files whose imports are read (others, e.g. JSON, are hashed as they are). */
const SCRIPT = /\.(?:[cm]?[jt]s|[jt]sx)$/;

/** One file of a plugin's code, as read (once) for its hash. */
export interface PluginCodeFile {
  /** Absolute path. */
  readonly path: string;
  readonly bytes: Uint8Array;
}

/** A plugin's code as read for its hash: the exact bytes hashed, and what keeps them from being all that runs. */
export interface PluginCode {
  /** The entry module (absolute). */
  readonly entry: string;
  /** `sha256:<hex>`. */
  readonly digest: string;
  /** Sorted by path. */
  readonly files: readonly PluginCodeFile[];
  /**
   * The folder every file lies under, and at least the plugin folder's parent: a copy of the code
   * keeps the layout below it, so relative imports work there too.
   */
  readonly root: string;
  /**
   * Why the hash may not cover all the code that would run: imports without their file (Bun and
   * Node's CommonJS add extensions), imports that no literal names, imports that leave the copy
   * (absolute paths, `file:` URLs, package `#imports`), a `node_modules` of the plugin's own. An
   * allow-list refuses such a plugin.
   */
  readonly problems: readonly string[];
}

/** The files a plugin's code hash covers, and the hash. */
export interface CodeHash {
  /** `sha256:<hex>`. */
  readonly digest: string;
  /** Absolute paths, in the order hashed. */
  readonly files: readonly string[];
  /** See {@linkcode PluginCode.problems}. */
  readonly problems: readonly string[];
}

/**
 * SHA-256 over a plugin's code: the entry module, every module it imports by a relative or
 * absolute path (followed recursively; packages imported by bare name are pinned by the lock
 * file instead), and the `plugin.json` beside the entry (it holds the sandbox permissions). A
 * bundle is one file, so its hash covers exactly that file. Each file enters the hash as its
 * path relative to the entry's folder, its length and its bytes, in sorted path order, so moving
 * or renaming a file changes the hash too.
 * @throws {Error} when the entry module cannot be read.
 */
export function hashPluginCode(entry: string): CodeHash {
  const code = readPluginCode(entry);
  return { digest: code.digest, files: code.files.map((f) => f.path), problems: code.problems };
}

/**
 * Reads a plugin's code once: the bytes hashed are the bytes returned, so a copy made from them
 * is exactly what was hashed (see {@linkcode hashPluginCode} for what is covered).
 * @throws {Error} when the entry module cannot be read.
 */
export function readPluginCode(entry: string): PluginCode {
  const root = resolve(entry);
  const base = dirname(root);
  const read = new Map<string, Uint8Array>();
  const problems: string[] = [];
  const queue = [root];
  const manifest = join(base, "plugin.json");
  if (existsSync(manifest)) read.set(manifest, readFileSync(manifest));
  const where = (file: string, line: number) => `${relative(base, file).split(sep).join("/")}:${line}`;
  while (queue.length > 0) {
    const file = queue.pop()!;
    if (read.has(file) && file !== root) continue;
    const bytes = readFileSync(file);
    read.set(file, bytes);
    if (read.size > MAX_FILES) throw new Error(`${entry}: more than ${MAX_FILES} local modules`);
    if (!SCRIPT.test(file)) continue;
    const found = scanImports(new TextDecoder().decode(bytes));
    for (const c of found.computed) {
      problems.push(
        `${where(file, c.line)} loads code that no literal names (${c.kind}): the code hash cannot cover it`,
      );
    }
    for (const { specifier, line } of found.imports) {
      const target = localTarget(file, specifier);
      if (specifier.startsWith("#")) {
        problems.push(
          `${
            where(file, line)
          } imports "${specifier}" through package.json "imports", which the code hash does not cover: import it by a relative path`,
        );
      }
      if (target === undefined) continue;
      if (!specifier.startsWith("./") && !specifier.startsWith("../")) {
        problems.push(
          `${
            where(file, line)
          } imports "${specifier}" by an absolute path: import it by a relative path, so the verified copy runs it`,
        );
      }
      const kind = fileKind(target);
      if (kind === "file") {
        if (!read.has(target)) queue.push(target);
      } else {
        problems.push(
          `${where(file, line)} imports "${specifier}", which is ${
            kind === "dir" ? "a folder" : "no file"
          }: name the file with its extension (e.g. "${specifier}.ts"), the way Deno and Node's ES modules resolve it`,
        );
      }
    }
  }
  const files = [...read.keys()].sort().map((path) => ({ path, bytes: read.get(path)! }));
  const hash = createHash("sha256");
  for (const { path, bytes } of files) {
    hash.update(`${relative(base, path).split(sep).join("/")}\0${bytes.length}\0`);
    hash.update(bytes);
  }
  const top = commonRoot([dirname(base), ...files.map((f) => dirname(f.path))]);
  problems.push(...ownNodeModules(files.map((f) => f.path), top, base));
  return {
    entry: root,
    digest: `sha256:${hash.digest("hex")}`,
    files,
    root: top,
    problems: [...new Set(problems)],
  };
}

/**
 * `node_modules` folders between a hashed file and `top`: packages there would be picked before
 * the project's (pinned by its lock file) without changing the hash.
 */
function ownNodeModules(files: readonly string[], top: string, base: string): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const file of files) {
    for (let dir = dirname(file); dir !== top && dir.startsWith(top); dir = dirname(dir)) {
      if (seen.has(dir)) break;
      seen.add(dir);
      const folder = join(dir, "node_modules");
      if (existsSync(folder)) {
        out.push(
          `it has a node_modules of its own (${
            relative(base, folder).split(sep).join("/") || "node_modules"
          }): packages there would shadow the project's without changing the code hash; install them in the project instead`,
        );
      }
    }
  }
  return out;
}

/** The deepest folder containing every one of `dirs` (absolute). */
function commonRoot(dirs: readonly string[]): string {
  let top = dirs[0]!;
  for (const dir of dirs) {
    while (dir !== top && !dir.startsWith(top.endsWith(sep) ? top : top + sep)) top = dirname(top);
  }
  return top;
}

function localTarget(from: string, specifier: string): string | undefined {
  if (specifier.startsWith("./") || specifier.startsWith("../")) {
    return resolve(dirname(from), specifier.split(/[?#]/)[0]!);
  }
  if (isAbsolute(specifier) && specifier.startsWith("/")) return resolve(specifier);
  if (specifier.startsWith("file:")) {
    try {
      return fileURLToPath(specifier);
    } catch {
      return undefined;
    }
  }
  return undefined;
}

function fileKind(path: string): "file" | "dir" | "none" {
  try {
    const stat = statSync(path);
    return stat.isFile() ? "file" : stat.isDirectory() ? "dir" : "none";
  } catch {
    return "none";
  }
}
