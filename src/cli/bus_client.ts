import type { NatsConnection } from "@nats-io/nats-core";
import { collectMicro, connectBus, META_PROTOCOL, parseServers } from "../bus/mod.ts";
import type { InfoResponse } from "../bus/mod.ts";

/** Connects a short-lived CLI client; gives up quickly when no server answers. */
export function connectClient(nats: string | undefined, name: string): Promise<NatsConnection> {
  return connectBus({
    servers: parseServers(nats) ?? parseServers(process.env.NATS_URL) ?? ["nats://127.0.0.1:4222"],
    name,
    maxReconnectAttempts: 0,
  });
}

/**
 * Every Switchyard instance answering `$SRV.INFO` (of one plugin when `plugin` is given), for
 * listing: what each says of itself, which the CLI shows but never routes by.
 */
export async function collectInstances(nc: NatsConnection, plugin?: string): Promise<InfoResponse[]> {
  const replies = await collectMicro(nc, "INFO", plugin === undefined ? {} : { name: plugin }, { stallMs: 200, maxWaitMs: 2_000 });
  const found = replies.filter((r) => (r.metadata as Record<string, unknown> | undefined)?.[META_PROTOCOL] !== undefined) as unknown as InfoResponse[];
  return found.sort((a, b) => a.name.localeCompare(b.name) || a.version.localeCompare(b.version) || a.id.localeCompare(b.id));
}
