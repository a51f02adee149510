/** Restart and crash-loop settings (config `supervisor.restart` and `supervisor.crashLoop`). */
export interface RestartSettings {
  baseDelayMs: number;
  maxDelayMs: number;
  /** An instance that ran this long before it crashed starts the backoff afresh. */
  stableAfterMs: number;
  /** This many crashes within `crashLoopWindowMs` is a crash loop. */
  crashLoopRestarts: number;
  crashLoopWindowMs: number;
}

/** What to do about one crash. */
export interface CrashDecision {
  /** Wait this long before the restart. */
  delayMs: number;
  /** Crashes within the window, this one included. */
  recentCrashes: number;
  /** In a crash loop now. */
  crashLoop: boolean;
  /** This crash started the loop (report it once). */
  enteredCrashLoop: boolean;
}

/**
 * Exponential restart backoff with crash-loop detection, for one instance slot. Pure bookkeeping
 * over times the caller passes, so it is tested without a clock.
 */
export class RestartPolicy {
  settings: RestartSettings;
  #consecutive = 0;
  #crashes: number[] = [];
  #looping = false;

  constructor(settings: RestartSettings) {
    this.settings = settings;
  }

  /** In a crash loop (until an instance runs `stableAfterMs`). */
  get crashLoop(): boolean {
    return this.#looping;
  }

  /**
   * Records a crash at `now` of an instance that had run `ranMs`.
   * @returns how long to wait before restarting, and whether this is a crash loop.
   */
  crashed(now: number, ranMs: number): CrashDecision {
    const s = this.settings;
    if (ranMs >= s.stableAfterMs) {
      this.#consecutive = 0;
      this.#looping = false;
    }
    this.#crashes = this.#crashes.filter((t) => t > now - s.crashLoopWindowMs);
    this.#crashes.push(now);
    const delayMs = Math.min(s.maxDelayMs, s.baseDelayMs * 2 ** Math.min(this.#consecutive, 30));
    this.#consecutive++;
    const wasLooping = this.#looping;
    this.#looping = this.#crashes.length >= s.crashLoopRestarts;
    return { delayMs, recentCrashes: this.#crashes.length, crashLoop: this.#looping, enteredCrashLoop: this.#looping && !wasLooping };
  }

  /** The instance has now run `stableAfterMs`: the next crash starts from the base delay. */
  stable(): boolean {
    const wasLooping = this.#looping;
    this.#consecutive = 0;
    this.#looping = false;
    return wasLooping;
  }
}
