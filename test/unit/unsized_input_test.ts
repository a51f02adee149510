/**
 * The plugin host taking an input of unknown size in chunks (`sy-bytes: *`, the last chunk marked
 * `sy-end`, as the router sends an HTTP body without `Content-Length`): a real host on a real
 * nats-server (default 1 MiB max_payload), the chunks sent by `requestInChunks` or by hand.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import * as v from "valibot";
import {
  decodeWireError,
  H_BYTES,
  H_DEADLINE,
  H_END,
  H_SEQ,
  requestInChunks,
  RequestMux,
  sessionSubject,
  UNSIZED,
  versionSubjectBase,
  WireHeaders,
} from "../../src/bus/mod.ts";
import type { BodySource, BusReply } from "../../src/bus/mod.ts";
import { systemClock } from "../../src/deps.ts";
import { definePlugin } from "../../src/plugin/mod.ts";
import { startPluginHarness } from "../../src/testing/mod.ts";
import type { PluginHarness } from "../../src/testing/mod.ts";

const MIB = 1024 * 1024;
const SUBJECT = `${versionSubjectBase("sy", "up", "1.0.0")}.measure`;

const plugin = definePlugin({
  name: "up",
  version: "1.0.0",
  methods: {
    measure: {
      input: v.object({ data: v.string() }),
      output: v.object({ length: v.number(), tail: v.string() }),
      handler: ({ data }) => ({ length: data.length, tail: data.slice(-4) }),
    },
  },
});

let h: PluginHarness;
let mux: RequestMux;
before(async () => {
  h = await startPluginHarness(plugin);
  mux = new RequestMux(h.nc);
});
after(async () => {
  mux.close();
  await h[Symbol.asyncDispose]();
});

/** The JSON `{"data":"xx…xEND!"}` of `chars` characters of data, read as a source that does not know its size. */
function jsonSource(chars: number): BodySource {
  const text = new TextEncoder().encode(JSON.stringify({ data: "x".repeat(chars - 4) + "END!" }));
  let taken = 0;
  return {
    size: undefined,
    get ended() {
      return taken >= text.length;
    },
    read(at, n) {
      const bytes = text.subarray(at, at + n);
      taken = at + bytes.length;
      return Promise.resolve(bytes);
    },
  };
}

function send(data: BodySource): Promise<BusReply> {
  const headers = new WireHeaders();
  headers.set(H_DEADLINE, String(Date.now() + 20_000));
  return requestInChunks(mux, { subject: SUBJECT, data, headers }, {
    timeoutMs: 20_000,
    clock: systemClock,
    session: (ack) => sessionSubject("sy", "up", ack),
  });
}

function headers(pairs: Record<string, string>): WireHeaders {
  const h = new WireHeaders();
  for (const [k, value] of Object.entries(pairs)) h.set(k, value);
  return h;
}

test("an input of unknown size is taken until the chunk that says sy-end", async () => {
  for (const chars of [3 * MIB + 5, 2 * MIB]) {
    const reply = await send(jsonSource(chars));
    assert.equal(reply.status, 0, new TextDecoder().decode(reply.data));
    assert.deepEqual(JSON.parse(new TextDecoder().decode(reply.data)), { length: chars, tail: "END!" });
  }
});

test("an input of unknown size over the host's limit (64 MiB) is refused with 413 once it passes it", async () => {
  const reply = await send(jsonSource(64 * MIB + 1));
  assert.equal(reply.status, 413);
  assert.equal(reply.code, "payload_too_large");
  // The host carries on.
  assert.deepEqual(await h.call("measure", { data: "abcdEND!" }), { length: 8, tail: "END!" });
});

test("an empty chunk that is not the last is refused; an empty last chunk ends the input", async () => {
  const first = new TextEncoder().encode('{"data":"ab');
  for (const [end, status] of [["", 400], ["1", 200]] as const) {
    const ack = await mux.request(SUBJECT, first, {
      headers: headers({ [H_BYTES]: UNSIZED, [H_DEADLINE]: String(Date.now() + 10_000) }),
      timeoutMs: 10_000,
    });
    assert.equal(ack.status, 0);
    const session = sessionSubject("sy", "up", ack);
    const mid = await mux.request(session, new TextEncoder().encode('cd"}'), {
      headers: headers({ [H_SEQ]: "1" }),
      timeoutMs: 10_000,
    });
    assert.equal(mid.status, 0);
    assert.equal(mid.headers?.get(H_SEQ), "1");
    const last = await mux.request(session, new Uint8Array(0), {
      headers: headers(end === "" ? { [H_SEQ]: "2" } : { [H_SEQ]: "2", [H_END]: end }),
      timeoutMs: 10_000,
    });
    if (status === 200) {
      assert.equal(last.status, 0);
      assert.deepEqual(JSON.parse(new TextDecoder().decode(last.data)), { length: 4, tail: "abcd" });
    } else {
      assert.equal(decodeWireError(last.headers, last.data)?.status, 400);
      assert.equal(last.code, "invalid_request");
    }
  }
});
