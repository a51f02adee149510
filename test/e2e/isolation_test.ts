/**
 * Plugin isolation, tried as an attacker holding one plugin's credentials would (relay's, under
 * the least-privilege config of docs/security.md): forged events, forged INFO and PING answers,
 * forged instance subjects pointing at another plugin, at the control plane and at the router's
 * inbox, forged draining and lost events. The victims (hello and counter) keep serving only their
 * own answers, counter's options never change, and the router never trips a permission.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import type { Msg, NatsConnection } from "@nats-io/nats-core";
import { PermissionViolationError } from "@nats-io/nats-core";
import { connectBus, INFO_RESPONSE, META_INSTANCE_SUBJECT, META_PROTOCOL, PING_RESPONSE } from "../../src/bus/mod.ts";
import type { InfoResponse } from "../../src/bus/mod.ts";
import { resolveConfig } from "../../src/config/mod.ts";
import { startRouter } from "../../src/cli/router_command.ts";
import type { StartedRouter } from "../../src/cli/router_command.ts";
import { captureLogger, startNatsServer, waitFor } from "../../src/testing/mod.ts";
import type { NatsServer, ProcessHandle } from "../../src/testing/mod.ts";
import { pluginPath } from "./_stack.ts";
import { documentedConfig, startPluginAs, users, violation, withPluginUser } from "./_least_privilege.ts";

const DISCOVERY_MS = 400;

function forged(name: string, id: string, version: string, metadata: Record<string, string>, methods: string[]): InfoResponse {
  return {
    type: INFO_RESPONSE,
    name,
    id,
    version,
    description: "",
    metadata: { [META_PROTOCOL]: "1", ...metadata },
    endpoints: methods.map((m) => ({ name: m, subject: `sy.${name}.${version.replaceAll(".", "_")}.${m}`, queue_group: `${name}@${version}`, metadata: {} })),
  };
}

describe("a process holding only relay's credentials cannot steer the router", () => {
  let nats: NatsServer;
  let router: StartedRouter;
  let plugins: ProcessHandle[] = [];
  let attacker: NatsConnection;
  let url: string;
  let helloId = "";
  let counterId = "";
  const logs = captureLogger();
  const routerViolations: PermissionViolationError[] = [];
  const post = async (path: string, body: unknown) => {
    const res = await fetch(`${url}/v1/${path}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
    // deno-lint-ignore no-explicit-any -- JSON bodies of several shapes
    return { status: res.status, headers: res.headers, body: await res.json() as any };
  };

  before(async () => {
    const counter = withPluginUser(documentedConfig(), "counter");
    nats = await startNatsServer({ config: counter.config });
    router = await startRouter(
      resolveConfig({ nats: { servers: [nats.url], ...users.router }, router: { host: "127.0.0.1", port: 0 }, discovery: { intervalMs: DISCOVERY_MS, rollCallMs: DISCOVERY_MS } }, {}),
      logs,
    );
    void (async () => {
      for await (const s of router.nc.status()) if (s.type === "error" && s.error instanceof PermissionViolationError) routerViolations.push(s.error);
    })();
    url = `http://127.0.0.1:${router.port}`;
    plugins = await Promise.all([startPluginAs(pluginPath("hello"), nats.url, users.hello), startPluginAs(pluginPath("counter"), nats.url, counter.user)]);
    await waitFor(() => Boolean(router.registry.pick("hello", undefined) && router.registry.pick("counter", undefined)), { timeoutMs: 10_000, message: "hello and counter known" });
    helloId = [...router.registry.pick("hello", undefined)!.instances.keys()][0]!;
    counterId = [...router.registry.pick("counter", undefined)!.instances.keys()][0]!;
    attacker = await connectBus({ servers: [nats.url], ...users.relay });
  });
  after(async () => {
    await attacker?.close();
    await Promise.all(plugins.map((p) => p.stop(5_000)));
    await router?.stop();
    await nats?.stop();
  });

  test("forged events and forged discovery answers change nothing; the victims keep serving their own answers", async () => {
    // Keep calling hello and counter while the attack runs; every answer must be theirs.
    const bad: string[] = [];
    let calls = 0;
    let attacking = true;
    const load = (async () => {
      while (attacking) {
        const greet = await post("hello/greet", { name: "Ada" });
        if (greet.status !== 200 || greet.body.message !== "Hello, Ada" || greet.headers.get("x-plugin-instance") !== helloId) {
          bad.push(`hello ${greet.status} ${JSON.stringify(greet.body)} ${greet.headers.get("x-plugin-instance")}`);
        }
        const inc = await post("counter/increment", { value: 1 });
        if (inc.status !== 200 || inc.body.added !== 1) bad.push(`counter ${inc.status} ${JSON.stringify(inc.body)}`);
        calls++;
      }
    })();

    // 1. Answer every $SRV.PING and $SRV.INFO with forged services: hello 9.9.9 listening on the
    //    attacker's subject, a made-up plugin whose instance subject is counter's control subject.
    const lies: InfoResponse[] = [
      forged("hello", "evil", "9.9.9", { [META_INSTANCE_SUBJECT]: "sy.$i.relay.evil" }, ["greet"]),
      forged("ghost", "g1", "1.0.0", { [META_INSTANCE_SUBJECT]: `sy.$ctl.counter.${counterId}` }, ["options"]),
      forged("counter", "c2", "9.0.0", { [META_INSTANCE_SUBJECT]: "_INBOX_router.x" }, ["increment"]),
    ];
    let pings = 0;
    const answer = (verb: "PING" | "INFO") => (_err: unknown, msg: Msg) => {
      if (verb === "PING") pings++;
      for (const lie of lies) msg.respond(JSON.stringify(verb === "PING" ? { ...lie, type: PING_RESPONSE } : lie));
    };
    attacker.subscribe("$SRV.PING", { callback: answer("PING") });
    attacker.subscribe("$SRV.INFO", { callback: answer("INFO") });
    // Its own plugin's proof subjects it may answer: with a PING and an INFO that claim counter's control subject.
    attacker.subscribe("$SRV.*.relay.>", {
      callback: (_e, msg) => {
        const lie = forged("relay", msg.subject.split(".").at(-1)!, "1.0.0", { [META_INSTANCE_SUBJECT]: `sy.$ctl.counter.${counterId}` }, ["options"]);
        msg.respond(JSON.stringify(msg.subject.startsWith("$SRV.PING.") ? { ...lie, type: PING_RESPONSE } : lie));
      },
    });
    await attacker.flush();

    // 2. Forged events on its own events subject, about others: started, draining, lost, stopped.
    const event = (type: string, info: unknown) => attacker.publish("sy.$events.relay", JSON.stringify({ type, info }));
    event("started", lies[0]);
    event("started", lies[1]);
    for (const type of ["draining", "lost", "stopped"]) {
      event(type, forged("hello", helloId, "1.0.0", {}, ["greet"]));
      event(type, forged("counter", counterId, "1.0.0", {}, ["increment"]));
    }
    // ...and an event about its own plugin whose proof answer claims the control subject.
    event("started", forged("relay", "r9", "1.0.0", {}, ["options"]));
    // 3. It cannot publish on the victims' events subjects at all.
    const denied = await violation(attacker, () => attacker.publish("sy.$events.hello", JSON.stringify({ type: "draining", info: { name: "hello", id: helloId } })));
    assert.equal(denied?.operation, "publish", "relay may not publish hello's events");

    // The router saw all of it: the events about others ignored, the claims refused...
    await waitFor(() => logs.entries.filter((e) => e.msg === "ignored an event about another plugin").length >= 3, { timeoutMs: 10_000, message: "events ignored" });
    await waitFor(() => logs.entries.some((e) => e.msg === "instance refused" && String(e.attrs.reason).includes("sy.$ctl.counter")), { timeoutMs: 10_000, message: "the control-subject claim refused" });
    // ...and two more discovery polls ran, and got the forged answers, while the load went on.
    const polled = pings;
    await waitFor(() => pings >= polled + 2, { timeoutMs: 10_000, message: "two more discovery polls" });
    attacking = false;
    await load;

    assert.deepEqual(bad, [], "every answer came from the real hello and counter");
    assert.ok(calls > 0);
    const known = [...router.registry.plugins()].map((p) => `${p.name}@${[...p.versions.keys()].join(",")}`).sort();
    assert.deepEqual(known, ["counter@1.0.0", "hello@1.2.0"], "nothing forged entered the registry");
    assert.equal((await post("ghost/options", { step: 1000 })).status, 404);
    assert.equal((await post("counter/increment", { value: 1 })).body.added, 1, "counter's step is still 1");
    assert.deepEqual(routerViolations, [], "the router never published or subscribed outside its grants");
  });
});
