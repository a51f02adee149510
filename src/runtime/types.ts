import type { RuntimeName } from "./command.ts";

/** A fetch-style handler: the router's `app.fetch`. */
export type FetchHandler = (req: Request) => Response | Promise<Response>;

export interface ServeOptions {
  port: number;
  hostname: string;
}

/** A listening HTTP server. */
export interface RunningServer {
  /** The bound port (useful with port 0). */
  readonly port: number;
  /** Stops accepting connections and closes idle ones; resolves when it has stopped. */
  close(): Promise<void>;
}

/** What differs between Deno, Bun and Node: only serving HTTP. */
export interface RuntimeAdapter {
  readonly name: RuntimeName;
  serve(fetch: FetchHandler, options: ServeOptions): Promise<RunningServer>;
}
