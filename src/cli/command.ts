import { dirname, isAbsolute, join, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import type { ParseArgsConfig } from "node:util";

/** The repository (or installed package) root: where bin/, scripts/ and src/ are. */
export const PACKAGE_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

/** One `switchyard` subcommand. */
export interface Command {
  readonly name: string;
  readonly summary: string;
  /** Full `--help` text. */
  readonly usage: string;
  /** Runs the command; resolves with the exit code (long-running commands resolve on shutdown). */
  run(argv: readonly string[]): Promise<number>;
}

/** Thrown for bad command-line input: printed with the usage, exit code 2. */
export class UsageError extends Error {
  override name = "UsageError";
}

/** `node:util` parseArgs with `--help`, turning its errors into {@linkcode UsageError}. */
export function parseFlags<T extends NonNullable<ParseArgsConfig["options"]>>(argv: readonly string[], options: T) {
  try {
    return parseArgs({ args: [...argv], options: { ...options, help: { type: "boolean", short: "h" } }, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

/** The common `--nats` flag. */
export const NATS_FLAG = { nats: { type: "string" } } as const;

export const NATS_HELP = "  --nats URL          NATS server(s), comma-separated (default: $NATS_URL or nats://127.0.0.1:4222)";

/** Writes to standard output (command results, not logs). */
export function print(text: string): void {
  process.stdout.write(text.endsWith("\n") ? text : `${text}\n`);
}

/** Writes to standard error. */
export function printError(text: string): void {
  process.stderr.write(text.endsWith("\n") ? text : `${text}\n`);
}

/**
 * A path for a command line the user can paste in the current directory: relative when it is
 * under `cwd`, or when both are inside the package (`./bin/switchyard`, `../../bin/switchyard`);
 * else absolute.
 */
export function shellPath(path: string, cwd = process.cwd()): string {
  const rel = relative(cwd, path);
  const nearby = isInside(cwd, path) || (isInside(PACKAGE_ROOT, cwd) && isInside(PACKAGE_ROOT, path));
  if (rel === "" || isAbsolute(rel) || !nearby) return shellQuote(resolve(path));
  return shellQuote(rel.startsWith(".") ? rel : `./${rel}`);
}

/** True when `path` is `dir` or below it. */
export function isInside(dir: string, path: string): boolean {
  const rel = relative(dir, path);
  return rel === "" || (!isAbsolute(rel) && rel !== ".." && !rel.startsWith(`..${sep}`));
}

/**
 * The `switchyard` command as printed in hints: bin/switchyard as {@linkcode shellPath} spells
 * it. It works as printed with only the system Node (it runs the pinned Node 24 from node_modules);
 * a bare `switchyard` works only where the package is linked onto the PATH.
 */
export function cliCommand(cwd = process.cwd()): string {
  return shellPath(join(PACKAGE_ROOT, "bin", "switchyard"), cwd);
}

/** Quotes `arg` for a POSIX shell when it has characters the shell would interpret. */
export function shellQuote(arg: string): string {
  return /^[\w./:@%+=,-]+$/.test(arg) ? arg : `'${arg.replaceAll("'", `'\\''`)}'`;
}
