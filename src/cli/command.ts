import { parseArgs } from "node:util";
import type { ParseArgsConfig } from "node:util";

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
