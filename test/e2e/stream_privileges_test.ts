import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { resolveConfig } from "../../src/config/mod.ts";
import { startRouter } from "../../src/cli/router_command.ts";
import type { StartedRouter } from "../../src/cli/router_command.ts";
import { captureLogger, startNatsServer, waitFor } from "../../src/testing/mod.ts";
import type { NatsServer, ProcessHandle } from "../../src/testing/mod.ts";
import { fixturePath } from "./_stack.ts";
import { documentedConfig, startPluginAs, users } from "./_least_privilege.ts";
import type { User } from "./_least_privilege.ts";
import { fetchStream } from "./_stream_client.ts";

const MIB = 1024 * 1024;

/**
 * The documented least-privilege config with a `streamy` user granted what `hello` is, and a
 * `stream-relay` user granted what `relay` is (for `hello`, there: `streamy`, here). A plugin
 * answers through `allow_responses: true` alone, one answer per request it received: streams and
 * chunks must work under exactly that.
 */
function streamingConfig(): { config: string; streamy: User; relay: User } {
  const doc = documentedConfig();
  const hello = /\{\s*user: hello,[\s\S]*?allow_responses: true\s*\}\s*\}/.exec(doc)![0];
  // From `user: relay` to the end of its entry (the comment above it stays out).
  const relay = /user: relay,[\s\S]*?allow_responses: true\s*\}\s*\}/.exec(doc)![0];
  const streamyEntry = hello.replaceAll("hello", "streamy");
  const relayEntry = relay.replaceAll("hello", "streamy").replaceAll("relay", "stream-relay");
  return {
    config: doc.replace(hello, `${hello}\n    ${streamyEntry}\n    { ${relayEntry}`),
    streamy: { user: "streamy", pass: "streamy-secret", inboxPrefix: "_INBOX_streamy" },
    relay: { user: "stream-relay", pass: "stream-relay-secret", inboxPrefix: "_INBOX_stream-relay" },
  };
}

describe("streams and chunks under the least-privilege nats-server config of docs/security.md", () => {
  let nats: NatsServer;
  let router: StartedRouter;
  let plugins: ProcessHandle[] = [];
  let url: string;

  before(async () => {
    const { config, streamy, relay } = streamingConfig();
    nats = await startNatsServer({ config });
    router = await startRouter(
      resolveConfig({
        nats: { servers: [nats.url], ...users.router },
        router: { host: "127.0.0.1", port: 0, bodyLimitBytes: 4 * MIB },
      }, {}),
      captureLogger(),
    );
    url = `http://127.0.0.1:${router.port}`;
    plugins = await Promise.all([
      startPluginAs(fixturePath("streamy"), nats.url, streamy),
      startPluginAs(fixturePath("stream-relay"), nats.url, relay),
    ]);
    await waitFor(
      () =>
        Boolean(
          router.registry.pick("streamy", undefined) && router.registry.pick("stream-relay", undefined),
        ),
      {
        timeoutMs: 10_000,
        message: "streamy and stream-relay in the registry",
      },
    );
  });
  after(async () => {
    await Promise.all(plugins.map((p) => p.stop(5_000)));
    await router?.stop();
    await nats?.stop();
  });

  test("a stream of 500 items in many messages, each the answer to one pull", async () => {
    const s = await fetchStream(`${url}/v1/streamy/ticks`, { n: 500, pad: 1_000 });
    assert.equal(s.status, 200);
    assert.deepEqual((await s.rest()).map((l) => JSON.parse(l).i), Array.from({ length: 500 }, (_, i) => i));
  });

  test("a 3 MiB reply and a 3 MiB input in chunks", async () => {
    const post = (path: string, body: unknown) =>
      fetch(`${url}/v1/${path}`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
      });
    const big = await post("streamy/big", { bytes: 3 * MIB });
    assert.equal(big.status, 200);
    assert.equal(((await big.json()) as { data: string }).data.length, 3 * MIB);
    const measured = await post("streamy/measure", { data: "m".repeat(3 * MIB) });
    assert.equal(measured.status, 200);
    assert.equal(((await measured.json()) as { length: number }).length, 3 * MIB);
  });

  test("ctx.stream between two plugins, each with its own user", async () => {
    const s = await fetchStream(`${url}/v1/stream-relay/relay`, { n: 300, name: "lp" });
    assert.equal(s.status, 200);
    assert.deepEqual((await s.rest()).map((l) => JSON.parse(l).i), Array.from({ length: 300 }, (_, i) => i));
  });
});
