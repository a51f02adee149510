/**
 * A router's first look: a plugin named by the `$SRV.PING` broadcast is proven on its own subject
 * while the broadcast's other answers still come; in `announce` mode, an instance whose own plugin
 * subject does not answer in time is asked again within seconds (catch-up looks), not at the fifth
 * roll call.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { connectBus, PING_RESPONSE, RequestMux } from "../../src/bus/mod.ts";
import { systemClock } from "../../src/deps.ts";
import { Registry, startDiscovery } from "../../src/registry/mod.ts";
import { captureLogger, startNatsServer } from "../../src/testing/mod.ts";
import { startRawPlugin } from "./_raw_plugin.ts";

test("announce: an instance not proven in time at the first look is found by a catch-up look", async () => {
  await using nats = await startNatsServer();
  // leaves the first look's and the first catch-up's `$SRV.PING.slow` unanswered
  await using slow = await startRawPlugin(nats.url, { name: "slow", ignoreNamePings: 2 });
  await using prompt = await startRawPlugin(nats.url, { name: "prompt" });
  const nc = await connectBus({ servers: [nats.url] });
  const registry = new Registry("sy");
  const mux = new RequestMux(nc);
  // roll calls 10 minutes apart: only a catch-up look can find it within the test
  const discovery = startDiscovery(
    nc,
    registry,
    { prefix: "sy", mux, mode: "announce", rollCallMs: 600_000 },
    {
      clock: systemClock,
      logger: captureLogger(),
    },
  );
  try {
    await discovery.refresh();
    assert.ok(
      registry.instance("prompt", prompt.id) !== undefined,
      "the prompt instance joins at the first look",
    );
    assert.equal(
      registry.instance("slow", slow.id),
      undefined,
      "its own subject did not answer the first look",
    );
    const deadline = Date.now() + 30_000;
    while (registry.instance("slow", slow.id) === undefined && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    assert.ok(
      registry.instance("slow", slow.id) !== undefined,
      "found by the second catch-up look (1 s, then 2 s later)",
    );
  } finally {
    discovery.stop();
    mux.close();
    await nc.close();
  }
});

test("a plugin named by the broadcast is proven while the broadcast's answers still come", async () => {
  await using nats = await startNatsServer();
  await using hello = await startRawPlugin(nats.url, { name: "early" });
  // another micro service (not of this protocol) that keeps answering the broadcast for ~1 s
  const chatty = await connectBus({ servers: [nats.url] });
  let lastAnswerAt = 0;
  chatty.subscribe("$SRV.PING", {
    callback: (_err, msg) => {
      void (async () => {
        for (let i = 0; i < 10; i++) {
          msg.respond(
            JSON.stringify({
              type: PING_RESPONSE,
              name: "Chatty",
              id: `c${i}`,
              version: "1.0.0",
              metadata: {},
            }),
          );
          lastAnswerAt = Date.now();
          await new Promise((resolve) => setTimeout(resolve, 80));
        }
      })();
    },
  });
  await chatty.flush();
  const nc = await connectBus({ servers: [nats.url] });
  const registry = new Registry("sy");
  const mux = new RequestMux(nc);
  const discovery = startDiscovery(
    nc,
    registry,
    { prefix: "sy", mux, mode: "announce", rollCallMs: 600_000 },
    {
      clock: systemClock,
      logger: captureLogger(),
    },
  );
  try {
    await discovery.refresh();
    const entry = registry.instance("early", hello.id);
    assert.ok(entry !== undefined);
    // proven after the broadcast ended, it would have joined after the chatty service's last answer
    assert.ok(
      entry.joinedAt < lastAnswerAt,
      `joined ${lastAnswerAt - entry.joinedAt} ms before the last broadcast answer`,
    );
  } finally {
    discovery.stop();
    mux.close();
    await nc.close();
    await chatty.close();
  }
});
