/**
 * HTTP/1.1 on the wire, as a raw client sees the runtime's server with the router's default
 * limits (on Deno: the guard's own server on `Deno.listen`; Bun.serve and node:http elsewhere):
 * keep-alive, pipelining, chunked uploads, `Expect: 100-continue`, HEAD, HTTP/1.0, streamed
 * answers, and every request head of a kept-alive connection checked.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { connect } from "node:net";
import type { Socket } from "node:net";
import { connect as connectTls } from "node:tls";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { currentRuntime, loadRuntimeAdapter } from "../../src/runtime/mod.ts";
import type { RunningServer } from "../../src/runtime/mod.ts";

interface Answer {
  status: number;
  headers: Map<string, string>;
  body: string;
}

/** A raw connection that parses answers as they come: by Content-Length, chunked, or up to the close. */
class RawClient {
  readonly socket: Socket;
  #text = "";
  #closed = false;
  #wake: (() => void) | undefined;

  constructor(port: number, tls = false) {
    this.socket = tls
      ? connectTls({ host: "127.0.0.1", port, ca: pem("ca.crt"), servername: "localhost" })
      : connect(port, "127.0.0.1");
    this.socket.setEncoding("latin1");
    this.socket.on("data", (chunk: string) => {
      this.#text += chunk;
      this.#wake?.();
    });
    this.socket.on("error", () => {});
    this.socket.on("close", () => {
      this.#closed = true;
      this.#wake?.();
    });
  }

  get closed(): boolean {
    return this.#closed;
  }

  send(bytes: string): void {
    this.socket.write(bytes, "latin1");
  }

  /** Waits until `ready` finds what it needs in the text received (or throws after `timeoutMs`). */
  async until<T>(ready: (text: string, closed: boolean) => T | undefined, timeoutMs = 10_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const got = ready(this.#text, this.#closed);
      if (got !== undefined) return got;
      if (this.#closed || Date.now() > deadline) {
        throw new Error(
          `no answer (closed: ${this.#closed}); got: ${JSON.stringify(this.#text.slice(0, 300))}`,
        );
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 200);
        this.#wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  }

  /** The next complete answer, consumed. */
  next(): Promise<Answer> {
    return this.until((text, closed) => {
      const parsed = parseAnswer(text, closed);
      if (parsed === undefined) return undefined;
      this.#text = text.slice(parsed.length);
      return parsed.answer;
    });
  }

  close(): void {
    this.socket.destroy();
  }
}

function parseAnswer(text: string, closed: boolean): { answer: Answer; length: number } | undefined {
  const end = text.indexOf("\r\n\r\n");
  if (end === -1) return undefined;
  const lines = text.slice(0, end).split("\r\n");
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(lines[0]!)?.[1]);
  const headers = new Map<string, string>();
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(":");
    headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  const start = end + 4;
  const length = headers.get("content-length");
  if (status === 100 || status === 204 || length === "0") {
    return { answer: { status, headers, body: "" }, length: start };
  }
  if (length !== undefined) {
    const size = Number(length);
    if (text.length - start < size) return undefined;
    return { answer: { status, headers, body: text.slice(start, start + size) }, length: start + size };
  }
  if (headers.get("transfer-encoding") === "chunked") {
    let at = start;
    let body = "";
    for (;;) {
      const lineEnd = text.indexOf("\r\n", at);
      if (lineEnd === -1) return undefined;
      const size = parseInt(text.slice(at, lineEnd), 16);
      if (text.length < lineEnd + 2 + size + 2) return undefined;
      if (size === 0) {
        const trailerEnd = text.indexOf("\r\n", lineEnd + 2);
        if (trailerEnd === -1) return undefined;
        return { answer: { status, headers, body }, length: trailerEnd + 2 };
      }
      body += text.slice(lineEnd + 2, lineEnd + 2 + size);
      at = lineEnd + 2 + size + 2;
    }
  }
  if (!closed) return undefined;
  return { answer: { status, headers, body: text.slice(start) }, length: text.length };
}

const runtime = currentRuntime();
const pem = (name: string) =>
  readFileSync(fileURLToPath(new URL(`../fixtures/tls/${name}`, import.meta.url)), "utf8");
const encoder = new TextEncoder();
const JSON_HEAD = "Host: x\r\nContent-Type: application/json\r\n";

describe("HTTP/1.1 on the wire with the router's default limits", () => {
  let server: RunningServer;
  /** Resolves the streamed answer's second line. */
  let releaseStream: () => void = () => {};
  before(async () => {
    const adapter = await loadRuntimeAdapter();
    server = await adapter.serve(async (req) => {
      const url = new URL(req.url);
      if (url.pathname === "/echo") {
        const body = await req.text();
        return new Response(
          JSON.stringify({
            method: req.method,
            length: body.length,
            body: body.slice(0, 64),
            path: url.pathname,
          }),
          {
            headers: { "content-type": "application/json" },
          },
        );
      }
      if (url.pathname === "/sized-stream") {
        return new Response(
          new ReadableStream<Uint8Array>({
            async pull(controller) {
              controller.enqueue(encoder.encode('{"n":1}\n'));
              // The rest comes later: the server writes the body as it comes, not gathered.
              await new Promise((resolve) => setTimeout(resolve, 1));
              controller.enqueue(encoder.encode('{"n":2}\n'));
              controller.close();
            },
          }),
          { headers: { "content-type": "application/x-ndjson", "content-length": "16" } },
        );
      }
      if (url.pathname === "/stream") {
        const second = new Promise<void>((resolve) => releaseStream = resolve);
        return new Response(
          new ReadableStream<Uint8Array>({
            async start(controller) {
              controller.enqueue(encoder.encode('{"n":1}\n'));
              await second;
              controller.enqueue(encoder.encode('{"n":2}\n'));
              controller.close();
            },
          }),
          { headers: { "content-type": "application/x-ndjson" } },
        );
      }
      return new Response(JSON.stringify({ path: url.pathname }), {
        headers: { "content-type": "application/json" },
      });
    }, {
      port: 0,
      hostname: "127.0.0.1",
      limits: { headerTimeoutMs: 10_000, idleTimeoutMs: 30_000, requestTimeoutMs: 30_000 },
    });
  });
  after(async () => {
    await server?.close({ graceMs: 500 });
  });

  test("keep-alive: requests one after another on one connection, each answered with its length", async () => {
    const client = new RawClient(server.port);
    try {
      for (const path of ["/a", "/b", "/c"]) {
        client.send(`GET ${path} HTTP/1.1\r\nHost: x\r\n\r\n`);
        const answer = await client.next();
        assert.equal(answer.status, 200);
        assert.deepEqual(JSON.parse(answer.body), { path });
        assert.notEqual(answer.headers.get("connection"), "close");
      }
      assert.equal(client.closed, false);
    } finally {
      client.close();
    }
  });

  test("pipelining: requests sent in one write are answered in order", async () => {
    const client = new RawClient(server.port);
    try {
      client.send(
        `POST /echo HTTP/1.1\r\n${JSON_HEAD}Content-Length: 7\r\n\r\n{"a":1}` +
          "GET /second HTTP/1.1\r\nHost: x\r\n\r\n" +
          `POST /echo HTTP/1.1\r\n${JSON_HEAD}Content-Length: 7\r\n\r\n{"c":3}`,
      );
      assert.equal(JSON.parse((await client.next()).body).body, '{"a":1}');
      assert.equal(JSON.parse((await client.next()).body).path, "/second");
      assert.equal(JSON.parse((await client.next()).body).body, '{"c":3}');
    } finally {
      client.close();
    }
  });

  test("a chunked upload, split at odd places, arrives whole; the connection serves the next request", async () => {
    const client = new RawClient(server.port);
    try {
      const piece = "y".repeat(5000);
      const wire = `POST /echo HTTP/1.1\r\n${JSON_HEAD}Transfer-Encoding: chunked\r\n\r\n` +
        `${piece.length.toString(16)};ext=1\r\n${piece}\r\n`.repeat(3) +
        // Bun 1.4 answers the request after one with trailers a bare 400: its parser loses its place.
        (runtime === "bun" ? "0\r\n\r\n" : "0\r\nX-Trailer: 1\r\n\r\n");
      for (let at = 0; at < wire.length; at += 777) {
        client.send(wire.slice(at, at + 777));
        await new Promise((resolve) => setImmediate(resolve));
      }
      const answer = await client.next();
      assert.equal(answer.status, 200);
      assert.equal(JSON.parse(answer.body).length, 15_000);
      client.send("GET /after HTTP/1.1\r\nHost: x\r\n\r\n");
      assert.equal(JSON.parse((await client.next()).body).path, "/after");
    } finally {
      client.close();
    }
  });

  test("Expect: 100-continue gets 100 Continue before the body is sent", {
    skip: runtime === "bun" ? "Bun.serve answers 100 itself only when the handler reads" : false,
  }, async () => {
    const client = new RawClient(server.port);
    try {
      client.send(`POST /echo HTTP/1.1\r\n${JSON_HEAD}Content-Length: 7\r\nExpect: 100-continue\r\n\r\n`);
      const go = await client.next();
      assert.equal(go.status, 100);
      client.send('{"e":1}');
      const answer = await client.next();
      assert.equal(answer.status, 200);
      assert.equal(JSON.parse(answer.body).body, '{"e":1}');
    } finally {
      client.close();
    }
  });

  test("HEAD gets the head and the length, no body; the connection goes on", async () => {
    const client = new RawClient(server.port);
    try {
      client.send("HEAD /h HTTP/1.1\r\nHost: x\r\n\r\nGET /after-head HTTP/1.1\r\nHost: x\r\n\r\n");
      const head = await client.until((text) => {
        const end = text.indexOf("\r\n\r\n");
        return end === -1 ? undefined : text.slice(0, end + 4);
      });
      assert.match(head, /^HTTP\/1\.1 200/);
      const rest = await client.until((text) => {
        const second = text.indexOf("HTTP/1.1", 4);
        return second === -1 ? undefined : text.slice(head.length, second);
      });
      assert.equal(rest, "", "no body bytes between the HEAD answer and the next one");
    } finally {
      client.close();
    }
  });

  test("HTTP/1.0: answered, then the connection closes", async () => {
    const client = new RawClient(server.port);
    try {
      client.send("GET /old HTTP/1.0\r\nHost: x\r\n\r\n");
      const answer = await client.next();
      assert.equal(answer.status, 200);
      assert.deepEqual(JSON.parse(answer.body), { path: "/old" });
      await client.until((_, closed) => closed || undefined);
    } finally {
      client.close();
    }
  });

  test("a streamed answer's first item arrives before the handler has produced the second", async () => {
    const client = new RawClient(server.port);
    try {
      client.send("GET /stream HTTP/1.1\r\nHost: x\r\n\r\n");
      await client.until((text) => text.includes('{"n":1}') || undefined);
      assert.doesNotMatch(await client.until((text) => text), /"n":2/);
      releaseStream();
      const answer = await client.next();
      assert.equal(answer.body, '{"n":1}\n{"n":2}\n');
      client.send("GET /after-stream HTTP/1.1\r\nHost: x\r\n\r\n");
      assert.equal(JSON.parse((await client.next()).body).path, "/after-stream");
    } finally {
      client.close();
    }
  });

  test("a streamed body with a content-length goes out with that length, not chunked; the connection goes on", async () => {
    const client = new RawClient(server.port);
    try {
      client.send("GET /sized-stream HTTP/1.1\r\nHost: x\r\n\r\n");
      const answer = await client.next();
      assert.equal(answer.body, '{"n":1}\n{"n":2}\n');
      // Bun's server drops the length of a streamed body and sends it chunked (oven-sh/bun#10507).
      if (runtime !== "bun") {
        assert.equal(answer.headers.get("content-length"), "16");
        assert.equal(answer.headers.get("transfer-encoding"), undefined);
      }
      client.send("GET /after-sized HTTP/1.1\r\nHost: x\r\n\r\n");
      assert.equal(JSON.parse((await client.next()).body).path, "/after-sized");
    } finally {
      client.close();
    }
  });

  test("a request sent while a streamed answer is still written is answered after it", async () => {
    const client = new RawClient(server.port);
    try {
      client.send("GET /stream HTTP/1.1\r\nHost: x\r\n\r\n");
      await client.until((text) => text.includes('{"n":1}') || undefined);
      // The server reads on while the stream is quiet (to see a client that leaves): what it reads
      // here is the next request, kept for its turn.
      client.send("GET /during-stream HTTP/1.1\r\nHost: x\r\n\r\n");
      releaseStream();
      assert.equal((await client.next()).body, '{"n":1}\n{"n":2}\n');
      assert.equal(JSON.parse((await client.next()).body).path, "/during-stream");
    } finally {
      client.close();
    }
  });

  test("a malformed second request on a kept-alive connection gets the JSON 400, and the connection closes", {
    skip: runtime === "bun"
      ? "Bun.serve serving by itself answers its own bare 400 (see docs/edge.md)"
      : false,
  }, async () => {
    const client = new RawClient(server.port);
    try {
      client.send("GET /first HTTP/1.1\r\nHost: x\r\n\r\n");
      assert.equal((await client.next()).status, 200);
      client.send("GET /second HTTP/1.1\r\nHost: x\r\nBad Name: y\r\nX-Request-Id: r-2\r\n\r\n");
      const answer = await client.next();
      assert.equal(answer.status, 400);
      assert.equal(JSON.parse(answer.body).error.code, "invalid_request");
      await client.until((_, closed) => closed || undefined);
    } finally {
      client.close();
    }
  });

  test("an empty line before a request line is ignored", {
    skip: runtime === "bun" ? "Bun.serve refuses it" : false,
  }, async () => {
    const client = new RawClient(server.port);
    try {
      client.send(`POST /echo HTTP/1.1\r\n${JSON_HEAD}Content-Length: 2\r\n\r\n{}\r\n`);
      assert.equal((await client.next()).status, 200);
      client.send("GET /after-crlf HTTP/1.1\r\nHost: x\r\n\r\n");
      assert.equal(JSON.parse((await client.next()).body).path, "/after-crlf");
    } finally {
      client.close();
    }
  });
});

describe("HTTP/1.1 over TLS with a short header timeout", () => {
  const HEADER_TIMEOUT_MS = 1_000;
  let server: RunningServer;
  before(async () => {
    const adapter = await loadRuntimeAdapter();
    server = await adapter.serve(async (req) => {
      const body = await req.text();
      return new Response(JSON.stringify({ path: new URL(req.url).pathname, length: body.length }), {
        headers: { "content-type": "application/json" },
      });
    }, {
      port: 0,
      hostname: "127.0.0.1",
      limits: { headerTimeoutMs: HEADER_TIMEOUT_MS, idleTimeoutMs: 30_000, requestTimeoutMs: 30_000 },
      tls: { cert: pem("server.crt"), key: pem("server.key"), requireClientCert: false },
    });
  });
  after(async () => {
    await server?.close({ graceMs: 500 });
  });

  test("keep-alive, pipelining and a chunked upload on one TLS connection", async () => {
    const client = new RawClient(server.port, true);
    try {
      client.send("GET /one HTTP/1.1\r\nHost: x\r\n\r\n");
      assert.equal(JSON.parse((await client.next()).body).path, "/one");
      const piece = "z".repeat(40_000);
      client.send(
        `POST /two HTTP/1.1\r\n${JSON_HEAD}Transfer-Encoding: chunked\r\n\r\n${
          piece.length.toString(16)
        }\r\n${piece}\r\n0\r\n\r\n` +
          "GET /three HTTP/1.1\r\nHost: x\r\n\r\n",
      );
      assert.deepEqual(JSON.parse((await client.next()).body), { path: "/two", length: 40_000 });
      assert.equal(JSON.parse((await client.next()).body).path, "/three");
    } finally {
      client.close();
    }
  });

  test("a head that trickles in past the header timeout gets 408 and the connection closes", async () => {
    const client = new RawClient(server.port, true);
    try {
      const started = Date.now();
      client.send("GET /slow HTTP/1.1\r\nHost: x\r\n");
      const timer = setInterval(() => client.socket.writable && client.send("X-Slow: y\r\n"), 100);
      try {
        if (runtime === "node") {
          // node:https ends a TLS connection at its header timeout without an answer.
          const text = await client.until((got, closed) => closed ? got : undefined, HEADER_TIMEOUT_MS * 10);
          assert.doesNotMatch(text, /^HTTP\/1\.1 200/);
        } else {
          const answer = await client.next();
          assert.equal(answer.status, 408);
          assert.match(answer.body, /"request_timeout"/);
        }
      } finally {
        clearInterval(timer);
      }
      assert.ok(Date.now() - started >= HEADER_TIMEOUT_MS * 0.9, "not before the header timeout");
      await client.until((_, closed) => closed || undefined);
    } finally {
      client.close();
    }
  });
});
