import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { connectBus } from "../../src/bus/mod.ts";
import { PermissionViolationError } from "@nats-io/nats-core";
import { resolveConfig } from "../../src/config/mod.ts";
import { startRouter } from "../../src/cli/router_command.ts";
import type { StartedRouter } from "../../src/cli/router_command.ts";
import { captureLogger, startNatsServer, waitFor } from "../../src/testing/mod.ts";
import type { NatsServer, ProcessHandle } from "../../src/testing/mod.ts";
import { fixturePath, pluginPath, startAll } from "./_stack.ts";
import { documentedConfig, orAfter, startPluginAs, users, violation } from "./_least_privilege.ts";

describe("the end-to-end core cases against the least-privilege nats-server config of docs/security.md", () => {
  let nats: NatsServer;
  let router: StartedRouter;
  const plugins: ProcessHandle[] = [];
  let url: string;
  const logs = captureLogger();
  const post = async (path: string, body: unknown) => {
    const res = await fetch(`${url}/v1/${path}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  // deno-lint-ignore no-explicit-any -- JSON bodies of several shapes
    return { status: res.status, headers: res.headers, body: await res.json() as any };
  };

  before(async () => {
    nats = await startNatsServer({ config: documentedConfig() });
    router = await startRouter(
      resolveConfig({ nats: { servers: [nats.url], ...users.router }, router: { host: "127.0.0.1", port: 0 } }, {}),
      logs,
    );
    url = `http://127.0.0.1:${router.port}`;
    await startAll([
      startPluginAs(pluginPath("hello"), nats.url, users.hello),
      startPluginAs(fixturePath("relay"), nats.url, users.relay),
    ], plugins);
    await waitFor(() => Boolean(router.registry.pick("hello", undefined) && router.registry.pick("relay", undefined)), { timeoutMs: 10_000, message: "hello and relay in the registry" });
  });
  after(async () => {
    await Promise.all(plugins.map((p) => p.stop(5_000)));
    await router?.stop();
    await nats?.stop();
  });

  test("calls, edge validation, plugin errors and not-found answer as usual", async () => {
    const ok = await post("hello/greet", { name: "Ada" });
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    assert.deepEqual(ok.body, { message: "Hello, Ada" });
    assert.ok(ok.headers.get("x-plugin-instance"));
    assert.equal((await post("hello/greet", { name: 5 })).body.error.code, "validation_failed");
    assert.equal((await post("hello/nope", {})).status, 404);
    assert.equal((await post("nope/greet", {})).status, 404);
  });

  test("the router picks instances itself over their instance subjects", async () => {
    for (let i = 0; i < 10; i++) assert.equal((await post("hello/greet", { name: `n${i}` })).status, 200);
    // deno-lint-ignore no-explicit-any -- the catalog JSON
    const catalog = await (await fetch(`${url}/v1/plugins/hello`)).json() as any;
    assert.equal(catalog.versions[0].instances.length, 1);
  });

  test("ctx.call reaches another plugin with the caller's own inbox", async () => {
    const res = await post("relay/greet", { name: "Bob" });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual(res.body.relayed, { message: "Hello, Bob" });
  });

  test("the config denies what each user must not do", async () => {
    const hello = await connectBus({ servers: [nats.url], ...users.hello });
    const routerLike = await connectBus({ servers: [nats.url], ...users.router });
    try {
      // A plugin can't listen on another plugin's subjects, nor on the router's replies.
      for (const subject of ["sy.relay.>", "sy.$i.relay.>", "_INBOX_router.>", "sy.>", "$SRV.INFO.relay"]) {
        const sub = hello.subscribe(subject);
        // The server's -ERR closes the subscription.
        const closed = await orAfter(sub.closed, 20_000, "open");
        assert.ok(closed instanceof PermissionViolationError, `hello may not subscribe to ${subject}`);
      }
      // A plugin can't send requests to others (hello has no ctx.call grants) nor forge their events.
      for (const subject of ["sy.relay.1_0_0.greet", "sy.$events.relay"]) {
        const err = await violation(hello, () => hello.publish(subject, "{}"));
        assert.equal(err?.operation, "publish", `hello may not publish to ${subject}`);
      }
      // The router can't forge plugin events, drive the control plane, nor touch the system account.
      for (const subject of ["sy.$events.hello", "sy.$ctl.hello.x.options", "sy.$sup.ps", "$SYS.REQ.SERVER.PING"]) {
        const err = await violation(routerLike, () => routerLike.publish(subject, "{}"));
        assert.equal(err?.operation, "publish", `router may not publish to ${subject}`);
      }
      const sub = routerLike.subscribe("sy.hello.>");
      assert.ok(await orAfter(sub.closed, 20_000, "open") instanceof PermissionViolationError);
      // Everything above left the service alone.
      assert.equal((await post("hello/greet", { name: "still" })).status, 200);
    } finally {
      await hello.close();
      await routerLike.close();
    }
  });
});
