/**
 * Child processes of the benchmark runner: spawn with piped output, wait for a ready line, stop with
 * SIGTERM then SIGKILL. Every child is tracked so that a failure or Ctrl-C still cleans up.
 * @module
 */
import process from "node:process";
import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";

const TAIL_LINES = 30;
const live = new Set<Child>();

/** A running child process with the last lines it printed. */
export class Child {
  readonly name: string;
  readonly proc: ChildProcess;
  readonly tail: string[] = [];
  readonly exited: Promise<number | null>;
  #exitCode: number | null | undefined = undefined;
  readonly #listeners = new Set<(line: string) => void>();

  constructor(name: string, argv: readonly string[], env: NodeJS.ProcessEnv) {
    const [cmd, ...args] = argv;
    if (cmd === undefined) throw new TypeError(`${name}: empty argv`);
    this.name = name;
    this.proc = spawn(cmd, args, { env, stdio: ["ignore", "pipe", "pipe"] });
    live.add(this);
    this.exited = new Promise((resolve) => {
      this.proc.on("error", (err) => {
        this.#onLine(`spawn error: ${err.message}`);
        this.#exitCode = null;
        live.delete(this);
        resolve(null);
      });
      this.proc.on("close", (code, signal) => {
        this.#exitCode = code ?? (signal === null ? null : -1);
        live.delete(this);
        resolve(this.#exitCode);
      });
    });
    for (const stream of [this.proc.stdout, this.proc.stderr]) {
      if (stream !== null) createInterface({ input: stream }).on("line", (l) => this.#onLine(l));
    }
  }

  get pid(): number {
    return this.proc.pid ?? -1;
  }

  get running(): boolean {
    return this.#exitCode === undefined;
  }

  /** Resolves with the first line (from now on) matching `pattern`; rejects on exit or timeout. */
  waitFor(pattern: RegExp, timeoutMs: number): Promise<string> {
    return new Promise((resolve, reject) => {
      const done = (fn: () => void) => {
        clearTimeout(timer);
        this.#listeners.delete(listener);
        fn();
      };
      const listener = (line: string) => {
        if (pattern.test(line)) done(() => resolve(line));
      };
      const timer = setTimeout(
        () => done(() => reject(this.#failure(`no line matching ${pattern} within ${timeoutMs} ms`))),
        timeoutMs,
      );
      this.#listeners.add(listener);
      this.exited.then((code) =>
        done(() => reject(this.#failure(`exited (code ${code}) before ${pattern}`)))
      );
    });
  }

  /** Calls `listener` with every line printed from now on; returns what removes it. */
  onLine(listener: (line: string) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** SIGTERM, then SIGKILL after `graceMs`; resolves when the process is gone. */
  async stop(graceMs = 2000): Promise<void> {
    if (!this.running) return;
    this.proc.kill("SIGTERM");
    const timer = setTimeout(() => this.proc.kill("SIGKILL"), graceMs);
    await this.exited;
    clearTimeout(timer);
  }

  #onLine(line: string): void {
    this.tail.push(line);
    if (this.tail.length > TAIL_LINES) this.tail.shift();
    for (const listener of this.#listeners) listener(line);
  }

  #failure(what: string): Error {
    const tail = this.tail.slice(-10).map((l) => `    | ${l}`).join("\n");
    return new Error(`${this.name} ${what}${tail === "" ? "" : `\n${tail}`}`);
  }
}

/** Stops every child still running. */
export async function stopAll(): Promise<void> {
  await Promise.all([...live].map((c) => c.stop()));
}

/** Makes Ctrl-C, SIGTERM and process exit kill every child. */
export function installCleanup(): void {
  const onSignal = (signal: NodeJS.Signals) => {
    process.stderr.write(`\n${signal}: stopping ${live.size} child process(es)\n`);
    stopAll().finally(() => process.exit(130));
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  process.on("exit", () => {
    for (const c of live) c.proc.kill("SIGKILL");
  });
}
