import type { RuntimeName } from "./command.ts";

/** A fetch-style handler: the router's `app.fetch`; `peer` says what is known of the connection (Hono's `c.env`). */
export type FetchHandler = (req: Request, peer?: PeerInfo) => Response | Promise<Response>;

export interface ServeOptions {
  port: number;
  hostname: string;
  /** Timeouts and the connection cap (see `limits.ts` for what each runtime enforces). */
  limits?: ServerLimits;
  /** Serve HTTPS; with `clientCa`, verify client certificates (mTLS). */
  tls?: ServerTls;
  /** Deno and Bun: the connection guard (see `router.connectionGuard`). @default "auto" */
  connectionGuard?: ConnectionGuardMode;
}

/** Whether Deno and Bun serve behind the connection guard. */
export type ConnectionGuardMode = "auto" | "on" | "off";

/** What the adapter knows about a request's connection: its verified client certificate. */
export interface PeerInfo {
  readonly clientCertificate?: { readonly subject: Readonly<Record<string, string | readonly string[]>>; readonly fingerprint256?: string } | undefined;
}

/** Connection limits, all enforced by the adapter. */
export interface ServerLimits {
  /** From a connection's (or a keep-alive request's) first byte to the end of its headers. */
  headerTimeoutMs: number;
  /** A keep-alive connection with no request in progress is closed after this. */
  idleTimeoutMs: number;
  /** The whole request, headers and body, must arrive within this (the router also bounds the body). */
  requestTimeoutMs: number;
  /** More open connections than this are refused. @default no cap */
  maxConnections?: number | undefined;
}

/** PEM text of the server's certificate chain and key, and of the CAs of client certificates. */
export interface ServerTls {
  cert: string;
  key: string;
  clientCa?: string;
  /** Refuse handshakes without a valid client certificate. */
  requireClientCert: boolean;
}

/** Options of {@linkcode RunningServer.close}. */
export interface CloseOptions {
  /**
   * How long responses still being written may take; then the remaining connections are cut.
   * @default 2000
   */
  graceMs?: number;
}

/** A listening HTTP server. */
export interface RunningServer {
  /** The bound port (useful with port 0). */
  readonly port: number;
  /**
   * Stops listening, closes idle keep-alive connections at once and every other one as soon as
   * its response is written; resolves when all are closed, or after `graceMs` has cut the rest.
   */
  close(options?: CloseOptions): Promise<void>;
}

/**
 * Builds a 200 response with these headers, the way the runtime does it cheapest (Deno fills
 * headers given in the init 2-3× slower than `headers.set()`; @hono/node-server is fastest with a
 * plain init object, which it writes without building a web `Response`).
 */
export type ResponseFactory = (body: Uint8Array, headers: Readonly<Record<string, string>>) => Response;

/** The default {@linkcode ResponseFactory}: headers in the init. */
export const initHeadersResponse: ResponseFactory = (body, headers) =>
  new Response(body as Uint8Array<ArrayBuffer>, { status: 200, headers });

/** What differs between Deno, Bun and Node: serving HTTP, and the cheapest way to build a response. */
export interface RuntimeAdapter {
  readonly name: RuntimeName;
  serve(fetch: FetchHandler, options: ServeOptions): Promise<RunningServer>;
  readonly respond: ResponseFactory;
}
