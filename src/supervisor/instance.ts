import type { PluginExit, PluginProcess } from "./plugin_process.ts";

/** Where an instance is in its life. */
export type InstanceState = "starting" | "running" | "draining" | "stopped" | "crashed";

/** Output lines kept per instance, to say why it failed. */
const KEPT_LINES = 20;

/** One plugin process the supervisor started. */
export class Instance {
  readonly id: string;
  readonly plugin: string;
  /** Its place among the plugin's replicas (0-based). */
  readonly slot: number;
  readonly process: PluginProcess;
  /** Epoch ms. */
  readonly startedAt: number;
  /** The options revision it was started with or last given. */
  optionsRevision: number;
  state: InstanceState = "starting";
  /** From its `started` event. */
  version: string | undefined;
  readyAt: number | undefined;
  /** The supervisor stopped it: its exit is not a crash. */
  stopRequested = false;
  exitInfo: PluginExit | undefined;
  readonly #lines: string[] = [];

  constructor(init: { id: string; plugin: string; slot: number; process: PluginProcess; startedAt: number; optionsRevision: number }) {
    this.id = init.id;
    this.plugin = init.plugin;
    this.slot = init.slot;
    this.process = init.process;
    this.startedAt = init.startedAt;
    this.optionsRevision = init.optionsRevision;
  }

  get pid(): number | undefined {
    return this.process.child.pid;
  }

  /** Keeps the last lines it printed. */
  remember(line: string): void {
    this.#lines.push(line);
    if (this.#lines.length > KEPT_LINES) this.#lines.shift();
  }

  /** The last lines it printed, oldest first. */
  lastLines(n = KEPT_LINES): string[] {
    return this.#lines.slice(-n);
  }

  /** Why it died, for logs: the last error-looking line, else the last line. */
  reason(): string {
    const lines = this.#lines.filter((l) => l.trim() !== "");
    const error = [...lines].reverse().find((l) => /error|throw|fail|cannot|invalid|exception/i.test(l));
    return (error ?? lines.at(-1) ?? "no output").slice(0, 500);
  }
}

/** A random instance id `<plugin>-<slot>-<6 chars>`, within the 64-character limit. */
export function newInstanceId(plugin: string, slot: number): string {
  const suffix = Math.random().toString(36).slice(2, 8).padEnd(6, "0");
  return `${plugin.slice(0, 48)}-${slot}-${suffix}`;
}
