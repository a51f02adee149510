/**
 * The Deno layer of the connection guard: HTTP/1.1 served straight off `Deno.listen`, under the
 * rules of `guard_rules.ts`. `Deno.serve` has no header or idle timeout, no connection cap and no
 * hook for its parser's errors; putting the node:net guard in front of it cost a loopback hop per
 * request (about 45 µs of CPU per request, a third of the router's). Here every request head is
 * read by `parseHead()` (the same checks the node:net guard makes of a first head), each gets the
 * header timeout, each malformed one the router's JSON 400, and an answer that closes the
 * connection stops reading it. There is no loopback backend, so nothing to impersonate. TLS comes
 * from `node:tls` (`Deno.listenTls` cannot ask for client certificates), whose sockets this server
 * reads and writes the same way.
 * @module
 */
import type {
  CloseOptions,
  FetchHandler,
  PeerInfo,
  RunningServer,
  ServeOptions,
  ServerLimits,
} from "../types.ts";
import { ConnectionRules } from "../guard_rules.ts";
import { DenoClient } from "./deno_client.ts";
import type { DenoConn } from "./deno_client.ts";
import { serveHttp1 } from "./deno_connection.ts";
import type { ServedBy } from "./deno_connection.ts";
import { createEdgeRefusals } from "../edge_errors.ts";
import { SocketConn } from "./socket_conn.ts";
import { certificateOf, createTlsFront } from "../tls_front.ts";

interface DenoListener {
  readonly addr: { port: number };
  accept(): Promise<DenoConn>;
  close(): void;
}

declare const Deno: {
  listen(options: { hostname: string; port: number }): DenoListener;
};

const DEFAULT_GRACE_MS = 2_000;
/** The `Date` value, formatted at most once a second. */
class HttpDate {
  #second = 0;
  #text = "";

  now(): string {
    const second = Math.floor(Date.now() / 1000);
    if (second !== this.#second) {
      this.#second = second;
      this.#text = new Date(second * 1000).toUTCString();
    }
    return this.#text;
  }
}

/**
 * Serves `fetch` on `hostname:port` with the guard's rules and no runtime server behind it: plain
 * HTTP on `Deno.listen`, HTTPS on `node:tls` (`tls_front.ts`), whose client certificate is the
 * connection's own: nothing maps a request back to its client by address or port.
 */
export async function serveDenoGuard(
  fetch: FetchHandler,
  options: ServeOptions & { limits: ServerLimits },
): Promise<RunningServer> {
  const date = new HttpDate();
  const served: ServedBy = {
    rules: new ConnectionRules(options.limits),
    fetch,
    refuse: createEdgeRefusals(),
    date: () => date.now(),
  };
  const graceOf = (closeOptions: CloseOptions) => closeOptions.graceMs ?? DEFAULT_GRACE_MS;
  const { tls } = options;
  if (tls !== undefined) {
    const withCertificates = tls.clientCa !== undefined;
    const server = createTlsFront(tls, options.limits, (socket) => {
      serveConnection(new SocketConn(socket), served, withCertificates ? certificateOf(socket) : undefined);
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(options.port, options.hostname, () => {
        server.off("error", reject);
        server.on("error", () => {});
        resolve();
      });
    });
    const address = server.address();
    return {
      port: typeof address === "object" && address !== null ? address.port : options.port,
      close: async (closeOptions = {}) => {
        server.close();
        await served.rules.close(graceOf(closeOptions));
      },
    };
  }
  const listener = Deno.listen({ hostname: options.hostname, port: options.port });
  let closed = false;
  void (async () => {
    while (!closed) {
      let conn: DenoConn;
      try {
        conn = await listener.accept();
      } catch {
        // Closed, or out of file descriptors for a moment: try again shortly unless closed.
        if (!closed) await new Promise((resolve) => setTimeout(resolve, 50));
        continue;
      }
      serveConnection(conn, served, undefined);
    }
  })();
  return {
    port: listener.addr.port,
    close: async (closeOptions = {}) => {
      closed = true;
      listener.close();
      await served.rules.close(graceOf(closeOptions));
    },
  };
}

function serveConnection(
  conn: DenoConn,
  served: ServedBy,
  clientCertificate: PeerInfo["clientCertificate"],
): void {
  try {
    conn.setNoDelay(true);
  } catch {
    // reset before it was served: the first read fails and ends it
  }
  const io = new DenoClient(conn);
  const guarded = served.rules.admit(io);
  if (guarded === undefined) return;
  guarded.clientCertificate = clientCertificate;
  void serveHttp1(io, guarded, served);
}
