import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { connect } from "node:net";
import { Buffer } from "node:buffer";
import process from "node:process";
import type { IncomingMessage } from "node:http";
import type { NatsConnection, Subscription } from "@nats-io/nats-core";
import { connectBus } from "../../src/bus/mod.ts";
import { currentRuntime } from "../../src/runtime/mod.ts";
import { startNatsServer, waitFor } from "../../src/testing/mod.ts";
import type { NatsServer, ProcessHandle } from "../../src/testing/mod.ts";
import { fixturePath, startAll, startPlugin } from "./_stack.ts";
import { startRouterProcess } from "./_router_process.ts";
import type { RouterProcess } from "./_router_process.ts";
import { SlowReader } from "./_stream_client.ts";

const MIB = 1024 * 1024;
const BIG = 20 * MIB;
/**
 * What the router's peak RSS may gain over 3 sequential and then 2 × 4 concurrent 20 MiB round
 * trips (20 MiB up, 20 MiB back). A streaming router holds a couple of ~1 MiB chunks per request;
 * what it gains is the garbage its runtime lets pile up before a collection (the chunks pass
 * through socket and bus buffers: V8 collects them after some 64 MiB or more), the same for any
 * body size. Measured: Node 92-99, Bun 104-107, Deno 138-156 MiB; a router that holds the bodies
 * whole gains 390 (Node), 541 (Bun), 565 (Deno) MiB here.
 */
const RSS_GROWTH_BOUND = 280 * MIB;
/** Round trips after those, one after the other, once the runtime's garbage slack is reached. */
const LATER_ROUND_TRIPS = 8;
/**
 * What they may add to the peak, all of them together: three chunk windows (the router holds two
 * ~1 MiB chunks of an upload and pulls two of a reply ahead, about 2 MiB a body).
 */
const STEADY_GROWTH_BOUND = 6 * MIB;

/** The router's peak resident set so far, in bytes (`VmHWM`, Linux). */
function peakRss(pid: number): number {
  return statusBytes(pid, "VmHWM");
}

/** A line of `/proc/<pid>/status` in bytes (Linux). */
function statusBytes(pid: number, field: "VmHWM" | "VmRSS"): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status);
  assert.ok(kb, `${field} in /proc/<pid>/status`);
  return Number(kb[1]) * 1024;
}

/** Starts the peak anew at the current RSS (`clear_refs` 5, Linux ≥ 4.0): returns that RSS. */
function resetPeakRss(pid: number): number {
  writeFileSync(`/proc/${pid}/clear_refs`, "5");
  return statusBytes(pid, "VmRSS");
}

/**
 * The reply's `content-length` is the size the plugin announced; Bun's server drops a length set on
 * a streamed body and sends it chunked (oven-sh/bun#10507), so there the header is absent.
 */
function assertLength(header: string | string[] | null | undefined, size: number): void {
  if (currentRuntime() === "bun" && header == null) return;
  assert.equal(header, String(size));
}

/**
 * A raw HTTP/1.1 client that reads only when told to: its socket is paused once the answer's head is
 * in, so the kernel's and the server's buffers fill and the server has to wait (an HTTP client
 * library may read ahead into buffers of its own).
 */
function pausedClient(url: string, path: string, body: string) {
  const { hostname, port } = new URL(url);
  const socket = connect(Number(port), hostname);
  const parts: Buffer[] = [];
  let received = 0;
  let headEnd = -1;
  let ended = false;
  let wake: (() => void) | undefined;
  const head = new Promise<string>((resolve, reject) => {
    socket.on("data", (d: Buffer) => {
      parts.push(d);
      received += d.length;
      if (headEnd < 0) {
        const all = Buffer.concat(parts);
        const at = all.indexOf("\r\n\r\n");
        if (at >= 0) {
          headEnd = at + 4;
          socket.pause();
          resolve(all.subarray(0, at).toString("latin1"));
        }
      }
      socket.pause();
      wake?.();
    });
    socket.on("error", reject);
    socket.on("close", () => {
      ended = true;
      wake?.();
    });
  });
  socket.write(
    `POST ${path} HTTP/1.1\r\nhost: ${hostname}\r\ncontent-type: application/json\r\ncontent-length: ${
      Buffer.byteLength(body)
    }\r\nconnection: close\r\n\r\n${body}`,
  );
  return {
    socket,
    head,
    ended: () => ended,
    /** Bytes received so far, head included. */
    received: () => received,
    /** Reads once more (one `data` event), or resolves at the end. */
    readSome: () =>
      new Promise<void>((resolve) => {
        wake = () => {
          wake = undefined;
          resolve();
        };
        socket.resume();
      }),
    body: () => Buffer.concat(parts).subarray(headEnd),
  };
}

/** The payload of a `Transfer-Encoding: chunked` body. */
function dechunk(data: Buffer): Buffer {
  const out: Buffer[] = [];
  let at = 0;
  for (;;) {
    const eol = data.indexOf("\r\n", at);
    const size = parseInt(data.subarray(at, eol).toString("latin1"), 16);
    if (!(size > 0)) break;
    out.push(data.subarray(eol + 2, eol + 2 + size));
    at = eol + 2 + size + 2;
  }
  return Buffer.concat(out);
}

/** ASCII text of `n` bytes that no run of one character makes easy to get right by accident. */
function pattern(n: number): string {
  const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_";
  const block = Array.from({ length: 4099 }, (_, i) => alphabet[(i * 7 + (i >> 6)) % alphabet.length]).join(
    "",
  );
  return block.repeat(Math.ceil(n / block.length)).slice(0, n);
}

/**
 * Bodies far beyond NATS's max_payload (1 MiB, the server's default) through a router in a process
 * of its own: a 20 MiB upload and a 20 MiB reply are streamed in chunks, never held whole, so the
 * router's memory does not grow with them; a slow HTTP client slows the pulls from the plugin.
 */
describe("20 MiB bodies through a router process", () => {
  let nats: NatsServer;
  let router: RouterProcess;
  let url: string;
  let nc: NatsConnection;
  const plugins: ProcessHandle[] = [];

  before(async () => {
    nats = await startNatsServer();
    await startAll([startPlugin(fixturePath("streamy"), nats.url)], plugins);
    // Four 20 MiB round trips at once on a loaded machine can take longer than the default 10 s.
    router = await startRouterProcess(nats.url, {
      config: { router: { bodyLimitBytes: 32 * MIB }, plugins: { streamy: { timeoutMs: 120_000 } } },
      plugins: ["streamy"],
    });
    url = router.url;
    nc = await connectBus({ servers: [nats.url] });
  });
  after(async () => {
    await nc?.close();
    await router?.stop(5_000);
    await Promise.all(plugins.map((p) => p.stop(5_000)));
    await nats?.stop();
  });

  const post = (path: string, body: string | ReadableStream<Uint8Array>) =>
    fetch(`${url}/v1/${path}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body,
      ...(typeof body === "string" ? {} : { duplex: "half" }),
    } as RequestInit);

  test("the server's max_payload is 1 MiB (the chunks are needed)", () => {
    assert.equal(nc.info?.max_payload, MIB);
  });

  test("peak RSS grows by the runtime's garbage slack, not with the bodies: 20 MiB round trips one after the other, then four at once, then more", async () => {
    const small = await post("streamy/echo", JSON.stringify({ data: "warm" }));
    assert.equal(small.status, 200);
    await small.arrayBuffer();
    const body = JSON.stringify({ data: pattern(BIG) });
    const roundTrip = async () => {
      const res = await post("streamy/echo", body);
      const text = await res.text();
      assert.equal(res.status, 200, text.slice(0, 300));
      assert.ok(text === body);
    };
    const before = peakRss(router.pid);
    for (let i = 0; i < 3; i++) await roundTrip();
    const sequential = peakRss(router.pid) - before;
    for (let i = 0; i < 2; i++) await Promise.all([roundTrip(), roundTrip(), roundTrip(), roundTrip()]);
    const grown = peakRss(router.pid) - before;
    process.stdout.write(
      `# router peak RSS ${(before / MIB).toFixed(1)} MiB before; grew by ${
        (sequential / MIB).toFixed(1)
      } MiB over 3 sequential round trips of 20 MiB each way, by ${
        (grown / MIB).toFixed(1)
      } MiB after 2 × 4 concurrent ones\n`,
    );
    assert.ok(grown < RSS_GROWTH_BOUND, `peak RSS grew by ${(grown / MIB).toFixed(1)} MiB`);
    // Once the slack is reached, more bodies do not raise the peak: what a body leaves is collected.
    const peak = peakRss(router.pid);
    resetPeakRss(router.pid);
    for (let i = 0; i < LATER_ROUND_TRIPS; i++) await roundTrip();
    const later = peakRss(router.pid) - peak;
    process.stdout.write(
      `# router peak RSS ${(peak / MIB).toFixed(1)} MiB after those; over ${LATER_ROUND_TRIPS} more round trips the peak was ${
        (later / MIB).toFixed(1)
      } MiB above that\n`,
    );
    assert.ok(
      later < STEADY_GROWTH_BOUND,
      `${LATER_ROUND_TRIPS} more round trips raised the peak RSS by ${(later / MIB).toFixed(1)} MiB`,
    );
  });

  for (const sized of [true, false]) {
    test(`an upload ${sized ? "with" : "without"} Content-Length reaches the plugin in chunks while the client is still sending it`, async () => {
      // Each further chunk of an input is a request with a payload on a session subject.
      let forwarded = 0;
      const sub: Subscription = nc.subscribe("sy.$i.streamy.*.$s.*", {
        callback: (_err, msg) => void (forwarded += msg.data.length),
      });
      await nc.flush();
      try {
        const text = '{"data":"' + pattern(BIG) + '"}';
        const half = 8 * MIB;
        // Without a length, node:http sends the body chunked.
        const req = request(`${url}/v1/streamy/measure`, {
          method: "POST",
          headers: { "content-type": "application/json", ...(sized ? { "content-length": String(text.length) } : {}) },
        });
        const answer = new Promise<{ status: number; text: string }>((resolve, reject) => {
          req.on("error", reject);
          req.on("response", (res) => {
            const parts: Buffer[] = [];
            res.on("data", (p: Buffer) => parts.push(p));
            res.on(
              "end",
              () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(parts).toString() }),
            );
          });
        });
        req.write(text.slice(0, half));
        // A router that read the body whole would forward nothing before the rest is sent.
        await waitFor(() => forwarded >= 4 * MIB, {
          timeoutMs: 30_000,
          message: () => `4 MiB forwarded before the body is complete (${forwarded} bytes)`,
        });
        req.end(text.slice(half));
        const r = await answer;
        assert.equal(r.status, 200, r.text.slice(0, 300));
        assert.deepEqual(JSON.parse(r.text), {
          length: BIG,
          head: text.slice(9, 17),
          tail: text.slice(-10, -2),
        });
      } finally {
        sub.unsubscribe();
      }
    });
  }

  test("a 20 MiB upload comes back as a 20 MiB reply, byte for byte", async () => {
    const body = JSON.stringify({ data: pattern(BIG) });
    const res = await post("streamy/echo", body);
    const text = await res.text();
    assert.equal(res.status, 200, text.slice(0, 300));
    assertLength(res.headers.get("content-length"), body.length);
    assert.equal(text.length, body.length);
    assert.ok(text === body, "the reply is the upload, byte for byte");
  });

  test("a 20 MiB body that is not JSON gets the plugin's 400 invalid_json", async () => {
    const res = await post("streamy/echo", "{" + "x".repeat(BIG));
    const body = await res.json() as { error: { code: string; requestId: string } };
    assert.equal(res.status, 400);
    assert.equal(body.error.code, "invalid_json");
    assert.ok(body.error.requestId);
  });

  test("a 20 MiB body that fails the schema gets the plugin's 422 validation_failed", async () => {
    const res = await post("streamy/echo", JSON.stringify({ data: 5, pad: "p".repeat(BIG) }));
    const body = await res.json() as { error: { code: string; issues: { path: string }[] } };
    assert.equal(res.status, 422);
    assert.equal(body.error.code, "validation_failed");
    assert.deepEqual(body.error.issues.map((i) => i.path), ["data"]);
  });

  test("a body over router.bodyLimitBytes gets 413, by its length and while it streams without one", async () => {
    const declared = await post("streamy/echo", '{"data":"' + "q".repeat(33 * MIB) + '"}');
    assert.equal(declared.status, 413);
    assert.equal((await declared.json() as { error: { code: string } }).error.code, "payload_too_large");
    let sent = 0;
    const chunk = new TextEncoder().encode("q".repeat(MIB));
    const streamed = await post(
      "streamy/echo",
      new ReadableStream<Uint8Array>({
        pull(controller) {
          if (sent > 40 * MIB) return controller.close();
          controller.enqueue(sent === 0 ? new TextEncoder().encode('{"data":"') : chunk);
          sent += sent === 0 ? 9 : MIB;
        },
      }),
    ).catch((err: Error) => err);
    assert.ok(!(streamed instanceof Error), `the client got an answer (${String(streamed)})`);
    assert.equal(streamed.status, 413);
    assert.equal((await streamed.json() as { error: { code: string } }).error.code, "payload_too_large");
    // The router and the plugin carry on.
    assert.equal((await post("streamy/echo", '{"data":"ok"}')).status, 200);
  });

  test("a client that reads a 20 MiB reply slowly holds back the pulls from the plugin; the router's RSS stays bounded", async () => {
    // Every pull of a reply in chunks is a request on a session subject: counted here as it passes.
    let pulls = 0;
    const sub: Subscription = nc.subscribe("sy.$i.streamy.*.$s.*", { callback: () => void pulls++ });
    await nc.flush();
    // 30 MiB: the socket's buffers (kernel and runtime) take a varying share of what is pulled while
    // the client reads nothing (5 to 16 MiB seen), and at least some of the reply must be left unpulled.
    const size = 30 * MIB;
    const before = resetPeakRss(router.pid);
    const client = pausedClient(url, "/v1/streamy/big", JSON.stringify({ bytes: size }));
    try {
      const head = await client.head;
      assert.match(head, /^HTTP\/1\.1 200 /);
      const total = size + '{"data":""}'.length;
      const chunked = /^transfer-encoding: chunked$/im.test(head);
      assertLength(/^content-length: (\d+)$/im.exec(head)?.[1] ?? null, total);
      // Nothing read yet: the pulls stop once the window and the socket's buffers are full.
      let last = -1;
      let still = 0;
      await waitFor(() => {
        still = pulls === last ? still + 1 : 0;
        last = pulls;
        return still >= 10;
      }, { timeoutMs: 30_000, intervalMs: 100, message: "the pulls to stop while the client reads nothing" });
      const held = pulls;
      process.stdout.write(
        `# pulls while the client read nothing: ${held} (of ~${Math.ceil(total / MIB)} chunks)\n`,
      );
      // What was pulled sits in the socket's buffers (kernel, runtime) and the window: a router that
      // holds the reply whole pulls every chunk before the status line goes out.
      assert.ok(held < Math.ceil(total / MIB), `${held} pulls of about 1 MiB while the client read nothing`);
      // Now read, slowly: the pulls never run far ahead of what the client took.
      let lead = 0;
      for (let reads = 1; !client.ended(); reads++) {
        await client.readSome();
        lead = Math.max(lead, pulls * MIB - client.received());
        if (reads % 16 === 0) await new Promise((resolve) => setTimeout(resolve, 5));
      }
      process.stdout.write(`# the pulls ran at most ${(lead / MIB).toFixed(1)} MiB ahead of the client\n`);
      const body = chunked ? dechunk(client.body()) : client.body();
      assert.equal(body.length, total);
      const text = body.toString("latin1");
      assert.ok(text.startsWith('{"data":"zzz') && text.endsWith('zzz"}') && /^z+$/.test(text.slice(9, -2)));
      assert.ok(lead < total * 0.75, `the pulls ran ${(lead / MIB).toFixed(1)} MiB ahead of the client`);
    } finally {
      sub.unsubscribe();
      client.socket.destroy();
    }
    const grown = peakRss(router.pid) - before;
    process.stdout.write(`# router peak RSS grew by ${(grown / MIB).toFixed(1)} MiB over the slow read of ${size / MIB} MiB\n`);
    // A router that holds the reply keeps its chunks and their concatenation at once: twice its size.
    // One that streams it grew by 12–27 MiB here, garbage the runtime had not yet collected.
    assert.ok(grown < 2 * size, `peak RSS grew by ${(grown / MIB).toFixed(1)} MiB`);
  });

  test("a stream read one item a second: the plugin is held back and the router's RSS stays flat", async () => {
    // 1,000 items of 60 kB (60 MB): a router that buffered what the plugin produces would grow by
    // tens of MiB within the first second.
    const n = 1_000;
    const name = `flat-${process.pid}`;
    const produced = async () => {
      const res = await fetch(`${url}/v1/streamy/stats`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ name }),
      });
      return (await res.json() as { produced: number }).produced;
    };
    const { port } = new URL(url);
    const reader = await SlowReader.open(Number(port), "/v1/streamy/ticks", { n, name, pad: 60_000 });
    try {
      assert.equal(reader.status, 200);
      const rss: number[] = [];
      // The client's pace is the scenario here, not a wait for something to happen.
      for (let i = 0; i < 10; i++) {
        assert.equal(JSON.parse((await reader.nextLine())!).i, i);
        rss.push(statusBytes(router.pid, "VmRSS"));
        await new Promise((resolve) => setTimeout(resolve, 1_000));
      }
      const ahead = (await produced()) - 10;
      // From the second read on: the first second fills the window and the sockets' buffers.
      const settled = rss.slice(1);
      // Growth only: a collection that hands the earlier tests' garbage back lowers the RSS meanwhile.
      const drift = Math.max(...settled) - settled[0]!;
      process.stdout.write(
        `# one item a second: the plugin was ${ahead} items (${(ahead * 60_000 / MIB).toFixed(1)} MiB) ahead after 10 reads; router RSS ${
          (settled[0]! / MIB).toFixed(1)
        } MiB, then at most ${(drift / MIB).toFixed(1)} MiB more over 9 s (${
          settled.map((b) => (b / MIB).toFixed(0)).join(", ")
        } MiB)\n`,
      );
      // What is ahead sits in the stream's window and the sockets' buffers (76 to 186 items seen),
      // never the whole stream.
      assert.ok(ahead < n / 2, `the plugin ran ${ahead} items ahead of a client that read 10`);
      assert.ok(drift < 8 * MIB, `router RSS grew by ${(drift / MIB).toFixed(1)} MiB`);
    } finally {
      reader.close();
    }
  });

  test("an instance that dies during an upload: the client gets a JSON 503 and the connection closes, the rest unread", async () => {
    let forwarded = 0;
    const sub: Subscription = nc.subscribe("sy.$i.streamy.*.$s.*", {
      callback: (_err, msg) => void (forwarded += msg.data.length),
    });
    await nc.flush();
    const size = 30 * MIB;
    const { hostname, port } = new URL(url);
    const socket = connect(Number(port), hostname);
    let answer = "";
    socket.setEncoding("utf8");
    socket.on("data", (d: string) => answer += d);
    const closed = new Promise<void>((resolve) => {
      socket.on("close", () => resolve());
      socket.on("error", () => {});
    });
    try {
      socket.write(
        `POST /v1/streamy/measure HTTP/1.1\r\nhost: ${hostname}\r\ncontent-type: application/json\r\ncontent-length: ${size}\r\n\r\n`,
      );
      const part = Buffer.alloc(MIB, 0x20);
      for (let i = 0; i < 8; i++) socket.write(part);
      await waitFor(() => forwarded >= 4 * MIB, {
        timeoutMs: 30_000,
        message: () => `4 MiB forwarded (${forwarded} bytes)`,
      });
      plugins[0]!.kill("SIGKILL");
      await plugins[0]!.exited;
      // The rest, as the server takes it, until it answers and closes.
      let sent = 8 * MIB;
      while (sent < size && !socket.destroyed && answer === "") {
        sent += MIB;
        if (!socket.write(part)) {
          await Promise.race([new Promise((resolve) => socket.once("drain", resolve)), closed]);
        }
      }
      await Promise.race([
        closed,
        waitFor(() => answer.includes("\r\n\r\n{"), { timeoutMs: 30_000, message: "an answer" }),
      ]);
      assert.match(answer, /^HTTP\/1\.1 503 /);
      assert.match(answer, /connection: close/i);
      assert.match(answer, /"code":"plugin_unavailable"/);
    } finally {
      sub.unsubscribe();
      socket.destroy();
    }
    plugins.push(await startPlugin(fixturePath("streamy"), nats.url));
    await waitFor(async () => (await post("streamy/echo", '{"data":"x"}')).status === 200, {
      timeoutMs: 30_000,
      message: "a new instance of streamy",
    });
  });

  // Last: it kills the plugin.
  test("an instance that dies in the middle of a reply cuts the body short; the router logs and counts it, and carries on", async () => {
    const res = await new Promise<IncomingMessage>((resolve, reject) => {
      const req = request(`${url}/v1/streamy/big`, {
        method: "POST",
        headers: { "content-type": "application/json" },
      }, resolve);
      req.on("error", reject);
      req.end(JSON.stringify({ bytes: BIG }));
    });
    assert.equal(res.statusCode, 200);
    plugins.at(-1)!.kill("SIGKILL");
    await plugins.at(-1)!.exited;
    const ended = await new Promise<{ read: number; error?: string }>((resolve) => {
      let read = 0;
      res.on("data", (p: Buffer) => read += p.length);
      res.on("end", () => resolve({ read }));
      res.on("error", (err) => resolve({ read, error: err.message }));
      res.on("close", () => resolve({ read, error: "closed" }));
    });
    assert.ok(ended.read < BIG, `the client read ${ended.read} bytes of ${BIG}`);
    await router.waitForLine("reply body cut off", 30_000);
    const metrics = await (await fetch(`${url}/metrics`)).text();
    assert.match(metrics, /^switchyard_reply_bodies_cut_total\{plugin="streamy"\} 1$/m);
    assert.equal((await fetch(`${url}/health`)).status, 200);
  });
});
