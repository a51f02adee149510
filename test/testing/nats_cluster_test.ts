import { test } from "node:test";
import assert from "node:assert/strict";
import { connect } from "@nats-io/transport-node";
import type { NatsConnection } from "@nats-io/transport-node";
import { Latch, startNatsCluster, waitFor } from "../../src/testing/mod.ts";

async function numRoutes(monitorUrl: string): Promise<number> {
  const body = (await (await fetch(`${monitorUrl}/routez`)).json()) as { num_routes: number };
  return body.num_routes;
}

/** Requests until the responder's interest has crossed the route, then returns the reply. */
async function requestWhenRouted(nc: NatsConnection, subject: string, data: string): Promise<string> {
  let reply = "";
  await waitFor(async () => {
    reply = (await nc.request(subject, data, { timeout: 500 })).string();
    return true;
  }, { message: `a responder on ${subject}` });
  return reply;
}

test("startNatsCluster() forms a full mesh and routes request/reply across nodes", async () => {
  await using cluster = await startNatsCluster(3);
  assert.equal(cluster.servers.length, 3);
  assert.equal(new Set(cluster.urls).size, 3);
  for (const s of cluster.servers) assert.equal(await numRoutes(s.monitorUrl!), 2);
  const a = await connect({ servers: cluster.urls[0]!, noRandomize: true });
  const b = await connect({ servers: cluster.urls[1]!, noRandomize: true });
  try {
    assert.notEqual(a.info?.server_id, b.info?.server_id);
    a.subscribe("cluster.echo", { callback: (_err, msg) => void msg.respond(`from-a:${msg.string()}`) });
    await a.flush();
    assert.equal(await requestWhenRouted(b, "cluster.echo", "ping"), "from-a:ping");
  } finally {
    await Promise.all([a.close(), b.close()]);
  }
});

test("NatsCluster: kill -9 of one node leaves the others routed and its clients reconnect", async () => {
  await using cluster = await startNatsCluster(3);
  const [s0, s1, s2] = cluster.servers;
  const a = await connect({ servers: cluster.urls[0]!, noRandomize: true });
  const c = await connect({
    servers: [cluster.urls[2]!, cluster.urls[1]!],
    noRandomize: true,
    reconnectTimeWait: 50,
  });
  try {
    a.subscribe("cluster.kill", { callback: (_err, msg) => void msg.respond("alive") });
    await a.flush();
    assert.equal(await requestWhenRouted(c, "cluster.kill", "x"), "alive");
    const reconnected = new Latch(1);
    (async () => {
      for await (const s of c.status()) if (s.type === "reconnect") reconnected.countDown();
    })();
    await s2!.kill9();
    assert.deepEqual(await s2!.exited, { code: null, signal: "SIGKILL" });
    await waitFor(async () => (await numRoutes(s0!.monitorUrl!)) === 1, {
      message: "server 0 to drop its route",
    });
    await waitFor(async () => (await numRoutes(s1!.monitorUrl!)) === 1, {
      message: "server 1 to drop its route",
    });
    await reconnected.wait(10_000);
    assert.equal(c.getServer(), cluster.urls[1]!.replace("nats://", ""));
    assert.equal(await requestWhenRouted(c, "cluster.kill", "y"), "alive");
  } finally {
    await Promise.all([a.close(), c.close()]);
  }
});
