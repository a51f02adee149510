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
}

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
  /** More open connections than this are refused. */
  maxConnections: number;
}

/** PEM text of the server's certificate chain and key, and of the CAs of client certificates. */
export interface ServerTls {
  cert: string;
  key: string;
  clientCa?: string;
  /** Refuse handshakes without a valid client certificate. */
  requireClientCert: boolean;
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
