import { connect } from "@nats-io/transport-node";
import { wsconnect } from "@nats-io/nats-core";
import type { ConnectionOptions, NatsConnection } from "@nats-io/nats-core";
import { credentialsInUrls, natsAuthOptions } from "./credentials.ts";
import type { NatsCredentials } from "./credentials.ts";

/** Options of {@linkcode connectBus}. */
export interface BusConnectOptions extends NatsCredentials {
  /** Server URLs: all `nats://` (TCP) or all `ws://`/`wss://` (WebSocket). @default ["nats://127.0.0.1:4222"] */
  servers?: readonly string[];
  /** Connection name, shown by `nats server report connections`. */
  name?: string;
  /** Keep reconnecting forever (the default) or give up. */
  maxReconnectAttempts?: number;
}

export const DEFAULT_NATS_URL = "nats://127.0.0.1:4222";

/** How a connection reaches NATS: raw TCP (`nats://`, `tls://`, `host:port`) or WebSocket (`ws://`, `wss://`). */
export type BusTransport = "tcp" | "websocket";

/**
 * Reconnect and liveness settings. A killed server closes its sockets, so the client notices at once
 * and dials the next server of its list (learnt from the cluster's gossip too) without waiting;
 * `reconnectTimeWait` only spaces out retries of the same server. Pings catch what a socket close
 * does not (a host that vanished, a half-open NAT mapping): 2 unanswered pings 10 s apart. A dial
 * gives up after 5 s, so a black-holed server does not hold up the others for the default 20 s.
 */
export const DEFAULT_RECONNECT_TIME_WAIT_MS = 250;
export const DEFAULT_RECONNECT_JITTER_MS = 100;
export const DEFAULT_PING_INTERVAL_MS = 10_000;
export const DEFAULT_MAX_PING_OUT = 2;
export const DEFAULT_DIAL_TIMEOUT_MS = 5_000;

const WS_URL = /^wss?:\/\//i;

/**
 * The transport for `servers`.
 * @throws {TypeError} when the list mixes WebSocket and TCP URLs.
 */
export function busTransport(servers: readonly string[]): BusTransport {
  const ws = servers.filter((s) => WS_URL.test(s.trim()));
  if (ws.length === 0) return "tcp";
  if (ws.length === servers.length) return "websocket";
  const tcp = servers.filter((s) => !WS_URL.test(s.trim()));
  throw new TypeError(
    `Cannot connect to NATS over both WebSocket (${ws.join(", ")}) and TCP (${tcp.join(", ")}): ` +
      "list only ws:// and wss:// URLs, or only nats:// URLs",
  );
}

// nats.js keeps its transport factory in one module-level variable, read again at every reconnect:
// a TCP and a WebSocket connection open at once in one process would reconnect over the wrong one.
const open: Record<BusTransport, number> = { tcp: 0, websocket: 0 };

/**
 * Connects to NATS with the options the hot path needs: no async stack traces (about 18 % of a
 * gateway's time went into building them), endless reconnects, and a fast reconnect to another
 * server of the cluster. `ws://`/`wss://` URLs connect over WebSocket (the global `WebSocket` of
 * Deno, Bun, Node 22+ and edge platforms without raw TCP), anything else over TCP.
 * @throws {TypeError} when `servers` mixes WebSocket and TCP URLs, or while this process holds an
 *   open connection over the other transport.
 */
export async function connectBus(options: BusConnectOptions = {}): Promise<NatsConnection> {
  // Credentials in a URL (`nats://user:pass@host`) apply unless given explicitly.
  const { servers, credentials } = credentialsInUrls(options.servers ?? [DEFAULT_NATS_URL]);
  const transport = busTransport(servers);
  const other: BusTransport = transport === "tcp" ? "websocket" : "tcp";
  if (open[other] > 0) {
    throw new TypeError(
      `Cannot open a ${transport} NATS connection while ${open[other]} ${other} connection(s) are open in this process: ` +
        "nats.js shares one transport among all connections of a process",
    );
  }
  const opts: ConnectionOptions = {
    servers,
    ...(options.name === undefined ? {} : { name: options.name }),
    ...natsAuthOptions(options.user === undefined && options.token === undefined ? { ...credentials, ...options } : options),
    noAsyncTraces: true,
    maxReconnectAttempts: options.maxReconnectAttempts ?? -1,
    reconnectTimeWait: DEFAULT_RECONNECT_TIME_WAIT_MS,
    reconnectJitter: DEFAULT_RECONNECT_JITTER_MS,
    pingInterval: DEFAULT_PING_INTERVAL_MS,
    maxPingOut: DEFAULT_MAX_PING_OUT,
    timeout: DEFAULT_DIAL_TIMEOUT_MS,
    waitOnFirstConnect: false,
  };
  open[transport]++;
  let nc: NatsConnection;
  try {
    nc = await (transport === "websocket" ? wsconnect(opts) : connect(opts));
  } catch (err) {
    open[transport]--;
    throw err;
  }
  void nc.closed().finally(() => open[transport]--);
  return nc;
}

/** Splits a comma-separated `NATS_URL` value. */
export function parseServers(value: string | undefined): string[] | undefined {
  if (value === undefined || value.trim() === "") return undefined;
  return value.split(",").map((s) => s.trim()).filter((s) => s !== "");
}
