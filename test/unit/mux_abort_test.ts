import { test } from "node:test";
import assert from "node:assert/strict";
import { connectBus, isBusError, RequestLostError, RequestMux } from "../../src/bus/mod.ts";
import { SwitchyardError } from "../../src/errors.ts";
import { startNatsServer, waitFor } from "../../src/testing/mod.ts";

test("RequestMux.failWhere() rejects only the selected pending requests; block() fails new ones of a tag until unblock()", async () => {
  await using server = await startNatsServer();
  const nc = await connectBus({ servers: [server.url] });
  try {
    const held: { respond(data: Uint8Array): boolean }[] = [];
    nc.subscribe("slow.*", { callback: (_e, m) => void held.push(m) });
    await nc.flush();
    const mux = new RequestMux(nc);
    const data = new Uint8Array(0);
    const a1 = mux.request("slow.a", data, { timeoutMs: 5_000, tag: "a" });
    const a2 = mux.request("slow.a", data, { timeoutMs: 5_000, tag: "a" });
    const b = mux.request("slow.b", data, { timeoutMs: 5_000, tag: "b" });
    await waitFor(() => held.length === 3, { timeoutMs: 5_000, message: "3 requests at the responder" });
    const failed = mux.failWhere((p) => p.tag === "a", (p) => new RequestLostError(p.subject, "gone"));
    assert.equal(failed, 2);
    for (const p of [a1, a2]) await assert.rejects(p, (err) => isBusError(err) && err.failure === "lost" && err.code === "plugin_unavailable" && !err.unsent);
    assert.equal(mux.size, 1);
    mux.block("b", () => new SwitchyardError("draining", "no"));
    await assert.rejects(mux.request("slow.b", data, { timeoutMs: 5_000, tag: "b" }), (err: SwitchyardError) => err.code === "draining");
    mux.block(undefined, () => new SwitchyardError("draining", "all"));
    await assert.rejects(mux.request("slow.c", data, { timeoutMs: 5_000 }), (err: SwitchyardError) => err.message === "all");
    mux.unblock(undefined);
    mux.unblock("b");
    for (const m of held) m.respond(new TextEncoder().encode("ok"));
    assert.equal(new TextDecoder().decode((await b).data), "ok", "the unselected request was answered");
    const again = mux.request("slow.b", data, { timeoutMs: 5_000, tag: "b" });
    await waitFor(() => held.length === 4, { timeoutMs: 5_000, message: "4 requests at the responder" });
    held[3]!.respond(new TextEncoder().encode("again"));
    assert.equal(new TextDecoder().decode((await again).data), "again");
  } finally {
    await nc.close();
  }
});
