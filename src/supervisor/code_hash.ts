import { createHash } from "node:crypto";
import { existsSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";

/** Static and dynamic import specifiers, `import … from "x"`, `export … from "x"`, `import("x")`, `import "x"`. */
const SPECIFIER = /(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)(["'])([^"'\n]+)\1/g;
/** Files followed at most: a guard against pathological trees. */
const MAX_FILES = 5_000;

/** The files a plugin's code hash covers, and the hash. */
export interface CodeHash {
  /** `sha256:<hex>`. */
  readonly digest: string;
  /** Absolute paths, in the order hashed. */
  readonly files: readonly string[];
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
  const root = resolve(entry);
  const base = dirname(root);
  const seen = new Set<string>();
  const queue = [root];
  const manifest = join(base, "plugin.json");
  if (existsSync(manifest)) seen.add(manifest);
  while (queue.length > 0) {
    const file = queue.pop()!;
    if (seen.has(file) && file !== root) continue;
    seen.add(file);
    if (seen.size > MAX_FILES) throw new Error(`${entry}: more than ${MAX_FILES} local modules`);
    const text = readFileSync(file, "utf8");
    for (const m of text.matchAll(SPECIFIER)) {
      const target = localTarget(file, m[2]!);
      if (target !== undefined && !seen.has(target) && isFile(target)) queue.push(target);
    }
  }
  const files = [...seen].sort();
  const hash = createHash("sha256");
  for (const file of files) {
    const bytes = readFileSync(file);
    hash.update(`${relative(base, file).split(sep).join("/")}\0${bytes.length}\0`);
    hash.update(bytes);
  }
  return { digest: `sha256:${hash.digest("hex")}`, files };
}

function localTarget(from: string, specifier: string): string | undefined {
  if (specifier.startsWith("./") || specifier.startsWith("../")) return resolve(dirname(from), specifier.split(/[?#]/)[0]!);
  if (specifier.startsWith("/")) return resolve(specifier);
  if (specifier.startsWith("file:")) {
    try {
      return fileURLToPath(specifier);
    } catch {
      return undefined;
    }
  }
  return undefined;
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}
