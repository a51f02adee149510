import type { Balancer } from "./types.ts";

/** `queue`: NATS picks a member of the version's queue group at random; the router does not choose. */
export function createQueueBalancer(): Balancer {
  return { name: "queue", pick: () => undefined };
}
