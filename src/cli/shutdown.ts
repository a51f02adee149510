/**
 * Runs `stop` once on the first SIGTERM or SIGINT; a second signal exits at once with 130.
 * `node:process` signals work the same on Deno, Bun and Node.
 */
export function onShutdownSignal(stop: (signal: string) => Promise<number>): void {
  let stopping = false;
  const handler = (signal: string) => {
    if (stopping) process.exit(130);
    stopping = true;
    stop(signal).then((code) => process.exit(code), () => process.exit(1));
  };
  process.on("SIGTERM", () => handler("SIGTERM"));
  process.on("SIGINT", () => handler("SIGINT"));
}
