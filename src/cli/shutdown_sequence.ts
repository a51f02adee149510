import type { Logger } from "../deps.ts";

/** One step of a shutdown. */
export interface ShutdownStep {
  /** Unique; other steps are placed before or after it by name. */
  readonly name: string;
  run(): void | Promise<void>;
}

/** Where {@linkcode ShutdownSequence.add} puts a step. */
export interface StepPlacement {
  /** Before the step of this name. */
  before?: string;
  /** After the step of this name. */
  after?: string;
}

/** What {@linkcode ShutdownSequence.run} did. */
export interface ShutdownReport {
  /** Steps in the order they ran, with how long each took. */
  steps: { name: string; ms: number; error?: string }[];
  /** True when some step threw. */
  failed: boolean;
}

/**
 * An ordered list of named shutdown steps. Each step runs after the previous one has settled; a
 * step that throws is logged and the next one still runs, so one broken step cannot leave the
 * bus connection open. Add steps by name (`{ before: "drain the NATS connection" }`) so that
 * features plug into the order without editing it.
 */
export class ShutdownSequence {
  readonly #steps: ShutdownStep[] = [];

  constructor(steps: readonly ShutdownStep[] = []) {
    for (const step of steps) this.add(step);
  }

  /**
   * Adds `step` at the end, or before/after a named step.
   * @throws {RangeError} for a duplicate name or an unknown `before`/`after`.
   */
  add(step: ShutdownStep, placement: StepPlacement = {}): void {
    if (this.#steps.some((s) => s.name === step.name)) throw new RangeError(`Shutdown step "${step.name}" exists already`);
    const anchor = placement.before ?? placement.after;
    if (anchor === undefined) {
      this.#steps.push(step);
      return;
    }
    const at = this.#steps.findIndex((s) => s.name === anchor);
    if (at === -1) throw new RangeError(`No shutdown step "${anchor}" (steps: ${this.names().join(", ")})`);
    this.#steps.splice(placement.before === undefined ? at + 1 : at, 0, step);
  }

  /** The step names in order. */
  names(): string[] {
    return this.#steps.map((s) => s.name);
  }

  /** Runs every step in order, logging each. */
  async run(logger: Logger): Promise<ShutdownReport> {
    const report: ShutdownReport = { steps: [], failed: false };
    for (const step of this.#steps) {
      const t0 = performance.now();
      try {
        await step.run();
        const ms = Math.round(performance.now() - t0);
        report.steps.push({ name: step.name, ms });
        logger.debug("shutdown step done", { step: step.name, ms });
      } catch (err) {
        const ms = Math.round(performance.now() - t0);
        const error = err instanceof Error ? err.message : String(err);
        report.steps.push({ name: step.name, ms, error });
        report.failed = true;
        logger.error("shutdown step failed", { step: step.name, ms, error });
      }
    }
    return report;
  }
}
