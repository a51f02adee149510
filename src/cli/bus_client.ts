import type { NatsConnection } from "@nats-io/nats-core";
import { connectBus, META_PROTOCOL, parseServers, SRV_PREFIX } from "../bus/mod.ts";
import type { InfoResponse } from "../bus/mod.ts";

const decoder = new TextDecoder();

/** Connects a short-lived CLI client; gives up quickly when no server answers. */
export function connectClient(nats: string | undefined, name: string): Promise<NatsConnection> {
  return connectBus({
    servers: parseServers(nats) ?? parseServers(process.env.NATS_URL) ?? ["nats://127.0.0.1:4222"],
    name,
    maxReconnectAttempts: 0,
  });
}

/** Every Switchyard instance answering `$SRV.INFO` (of one plugin when `plugin` is given). */
export async function collectInstances(nc: NatsConnection, plugin?: string): Promise<InfoResponse[]> {
  const subject = plugin === undefined ? `${SRV_PREFIX}.INFO` : `${SRV_PREFIX}.INFO.${plugin}`;
  const found: InfoResponse[] = [];
  try {
    const replies = await nc.requestMany(subject, undefined, { strategy: "stall", stall: 200, maxWait: 2_000 });
    for await (const msg of replies) {
      try {
        const info = JSON.parse(decoder.decode(msg.data)) as InfoResponse;
        if (info.metadata?.[META_PROTOCOL] !== undefined) found.push(info);
      } catch {
        // not a micro INFO reply
      }
    }
  } catch {
    // no responders: nothing is running
  }
  return found.sort((a, b) => a.name.localeCompare(b.name) || a.version.localeCompare(b.version) || a.id.localeCompare(b.id));
}
