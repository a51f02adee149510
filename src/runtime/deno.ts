import type { FetchHandler, RunningServer, RuntimeAdapter, ServeOptions } from "./types.ts";

declare const Deno: {
  serve(
    options: { port: number; hostname: string; onListen?: (addr: { port: number }) => void },
    handler: FetchHandler,
  ): { addr: { port: number }; shutdown(): Promise<void>; finished: Promise<void> };
};

/** Serves with `Deno.serve`. */
export const denoAdapter: RuntimeAdapter = {
  name: "deno",
  serve(fetch: FetchHandler, options: ServeOptions): Promise<RunningServer> {
    return new Promise((resolve) => {
      const server = Deno.serve({
        port: options.port,
        hostname: options.hostname,
        onListen: (addr) => resolve({ port: addr.port, close: () => server.shutdown() }),
      }, fetch);
    });
  },
};
