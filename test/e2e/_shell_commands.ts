/**
 * The shell commands a document shows, and running them as a user would: `bash -c`, in a folder of
 * the test's own, against servers the test started.
 * @module
 */
import { spawnProcess } from "../../src/testing/mod.ts";
import type { ProcessHandle } from "../../src/testing/mod.ts";

/** One command of a ```sh block: the text after `$ ` (or the whole line), and the output shown under it. */
export interface ShownCommand {
  readonly command: string;
  /** Lines shown under a `$ ` command, until a blank line or the next command. */
  readonly output: readonly string[];
  /** Ends in `&`: started in the background (the `&` is removed from `command`). */
  readonly background: boolean;
}

/**
 * Every command of every ```sh block. In a block with `$ ` prompts only those lines are commands
 * and the lines under them their output; otherwise every line is one. A trailing `\` joins lines,
 * and a comment after two spaces (`cmd   # why`) is dropped.
 */
export function shownCommands(markdown: string): ShownCommand[] {
  const commands: ShownCommand[] = [];
  for (const block of markdown.matchAll(/^[ \t]*```sh\n([\s\S]*?)^[ \t]*```/gm)) {
    const lines = joinContinued(block[1]!.split("\n").map((l) => l.trim()));
    const prompted = lines.some((l) => l.startsWith("$ "));
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i]!;
      if (line === "" || (prompted && !line.startsWith("$ "))) continue;
      const output: string[] = [];
      if (prompted) {
        for (let j = i + 1; j < lines.length && lines[j] !== "" && !lines[j]!.startsWith("$ "); j++) {
          output.push(lines[j]!);
        }
      }
      let command = (prompted ? line.slice(2) : line).replace(/\s{2,}#\s.*$/, "").trim();
      const background = command.endsWith("&");
      if (background) command = command.slice(0, -1).trim();
      commands.push({ command, output, background });
    }
  }
  return commands;
}

function joinContinued(lines: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    let line = lines[i]!;
    while (line.endsWith("\\") && i + 1 < lines.length) line = `${line.slice(0, -1)} ${lines[++i]!}`;
    out.push(line);
  }
  return out;
}

/** Where and how to run commands: the folder, the environment, and text to swap (ports). */
export interface ShellContext {
  cwd: string;
  env: Record<string, string | undefined>;
  /** Applied to each command before it runs, e.g. `localhost:8080` → the test's router. */
  replace: [from: string, to: string][];
}

/** The command with the context's replacements applied. */
export function adapt(command: string, ctx: ShellContext): string {
  let out = command;
  for (const [from, to] of ctx.replace) out = out.replaceAll(from, to);
  return out;
}

/**
 * Starts `bash -c <command>` in the context, detached, so the test can signal its whole process
 * group as a terminal does. bash runs a simple command in its own process (exec), as a terminal's
 * shell would, so the command itself gets the signal and its exit status is the command's.
 */
export function startShell(command: string, ctx: ShellContext, name = command.slice(0, 60)): ProcessHandle {
  return spawnProcess(["bash", "-c", adapt(command, ctx)], {
    cwd: ctx.cwd,
    env: ctx.env,
    name,
    detached: true,
    maxLines: 5_000,
  });
}

/** Runs a command to its end; resolves with its exit code and output lines (stdout and stderr). */
export async function runShell(
  command: string,
  ctx: ShellContext,
): Promise<{ code: number | null; lines: string[] }> {
  await using proc = startShell(command, ctx);
  const status = await proc.exited;
  await proc.closed;
  return { code: status.code, lines: [...proc.lines] };
}

/** SIGTERM to a started shell's whole process group (the command and what it started); resolves with its exit status. */
export async function stopShell(proc: ProcessHandle, signal: NodeJS.Signals = "SIGTERM") {
  try {
    process.kill(-proc.pid, signal);
  } catch {
    // already gone
  }
  return await proc.exited;
}

/** A requestId differs on every request: blank it out to compare a shown answer with a real one. */
export function withoutRequestIds(text: string): string {
  return text.replace(/"requestId":"[^"]*"/g, '"requestId":"…"');
}
