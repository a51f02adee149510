/**
 * A repeat of the signal within this window is the same request arriving twice: a terminal's
 * Ctrl-C signals the whole foreground process group, and `npm run` forwards it to its child again.
 */
export const REPEATED_SIGNAL_WINDOW_MS = 1_000;

/** The signals {@linkcode onShutdownSignal} listens to by default. */
export const SHUTDOWN_SIGNALS: readonly NodeJS.Signals[] = ["SIGTERM", "SIGINT"];

/**
 * Runs `stop` once on the first of `signals`; a later one (after
 * {@linkcode REPEATED_SIGNAL_WINDOW_MS}) exits at once with 130.
 * `node:process` signals work the same on Deno, Bun and Node.
 */
export function onShutdownSignal(stop: (signal: string) => Promise<number>, signals: readonly NodeJS.Signals[] = SHUTDOWN_SIGNALS): void {
  let firstAt: number | undefined;
  const handler = (signal: string) => {
    if (firstAt !== undefined) {
      if (performance.now() - firstAt >= REPEATED_SIGNAL_WINDOW_MS) process.exit(130);
      return;
    }
    firstAt = performance.now();
    stop(signal).then((code) => process.exit(code), () => process.exit(1));
  };
  for (const signal of signals) process.on(signal, () => handler(signal));
}
