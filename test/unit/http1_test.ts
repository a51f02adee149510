import { test } from "node:test";
import assert from "node:assert/strict";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { InputBuffer } from "../../src/runtime/http1/input.ts";
import { BodyError, ChunkedBody, FixedLengthBody } from "../../src/runtime/http1/body.ts";
import type { BodySource } from "../../src/runtime/http1/body.ts";
import { answerBytes, RAW_BODY, writeResponse } from "../../src/runtime/http1/response.ts";
import type { AnswerOptions, RawBodyResponse } from "../../src/runtime/http1/response.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder("latin1");

/** An InputBuffer over `pieces`, delivered one per read (how a socket splits them), then the end. */
function inputOf(...pieces: string[]): InputBuffer {
  const queue = pieces.map((p) => encoder.encode(p));
  return new InputBuffer((into) => {
    const next = queue.shift();
    if (next === undefined) return Promise.resolve(null);
    if (next.length > into.length) {
      into.set(next.subarray(0, into.length));
      queue.unshift(next.subarray(into.length));
      return Promise.resolve(into.length);
    }
    into.set(next);
    return Promise.resolve(next.length);
  });
}

async function readAll(body: BodySource): Promise<string> {
  let text = "";
  for (let piece = await body.next(); piece !== null; piece = await body.next()) {
    text += decoder.decode(piece);
  }
  return text;
}

async function headOf(input: InputBuffer): Promise<string | undefined> {
  for (;;) {
    const length = input.headLength();
    if (length !== -1) return input.takeLatin1(length);
    if (!(await input.fill())) return undefined;
  }
}

test("InputBuffer finds a head split across reads, and keeps what follows it for the body and the next head", async () => {
  const input = inputOf(
    "POST / HTTP/1.1\r\nHost: x\r",
    "\n",
    "\r\nContent-Length: 2\r\n\r\n{}GET /b HTTP/1.1\r\n\r\n",
  );
  const first = await headOf(input);
  assert.equal(
    first,
    "POST / HTTP/1.1\r\nHost: x\r\n\r\n",
    "a blank line split over three reads still ends the head",
  );
  const second = await headOf(input);
  assert.equal(second, "Content-Length: 2\r\n\r\n");
  assert.equal(decoder.decode(input.take(2)), "{}");
  assert.equal(await headOf(input), "GET /b HTTP/1.1\r\n\r\n", "a pipelined request waits in the buffer");
  assert.equal(input.size, 0);
  assert.equal(await input.fill(), false, "the end of the stream");
});

test("InputBuffer grows for a head larger than its window, and a lone LF does not end a head", async () => {
  const big = `GET / HTTP/1.1\r\nX: ${"a".repeat(20_000)}\r\nY: 1\n\n\r\n\r\n`;
  const input = inputOf(...big.match(/[^]{1,3000}/g)!);
  assert.equal(await headOf(input), big);
});

test("FixedLengthBody reads exactly its length and leaves the rest; a body that breaks off fails", async () => {
  const input = inputOf("hel", "lo wor", "ld!NEXT");
  const body = new FixedLengthBody(input, 11);
  assert.equal(await readAll(body), "hello world");
  assert.equal(body.done, true);
  assert.equal(decoder.decode(input.take(input.size)), "!NEXT");
  const short = new FixedLengthBody(inputOf("abc"), 10);
  await assert.rejects(readAll(short), BodyError);
  assert.equal(short.done, false);
});

test("ChunkedBody decodes chunks split anywhere, with extensions and trailers, and stops at the end", async () => {
  const wire = "5;name=value\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: t\r\n\r\nGET /next";
  for (let cut = 1; cut < wire.length; cut++) {
    const input = inputOf(wire.slice(0, cut), wire.slice(cut));
    const body = new ChunkedBody(input);
    assert.equal(await readAll(body), "hello world", `cut at ${cut}`);
    assert.equal(body.done, true);
    while (await input.fill()); // what the socket still holds
    assert.equal(
      decoder.decode(input.take(input.size)),
      "GET /next",
      `cut at ${cut}: the next request is left`,
    );
  }
});

test("ChunkedBody refuses malformed framing and a body that breaks off", async () => {
  const bad: Record<string, string> = {
    "a size that is not hex": "zz\r\nhello\r\n0\r\n\r\n",
    "a negative size": "-5\r\nhello\r\n0\r\n\r\n",
    "a size with a sign": "+5\r\nhello\r\n0\r\n\r\n",
    "no CRLF after a chunk": "5\r\nhelloXX0\r\n\r\n",
    "a size too large to be exact": "fffffffffffff\r\n",
    "a control byte in an extension": "5;a=\x01\r\nhello\r\n0\r\n\r\n",
    "a trailer without a colon": "0\r\nnot a field\r\n\r\n",
    "a size line too long": `5;${"x".repeat(2000)}\r\nhello\r\n0\r\n\r\n`,
    "the end before the last chunk": "5\r\nhello\r\n",
    "the end inside a chunk": "5\r\nhel",
  };
  for (const [name, wire] of Object.entries(bad)) {
    await assert.rejects(readAll(new ChunkedBody(inputOf(wire))), BodyError, name);
  }
});

const options = (more: Partial<AnswerOptions> = {}): AnswerOptions => ({
  headOnly: false,
  close: false,
  closeDelimited: false,
  date: "Mon, 07 Dec 2026 08:00:00 GMT",
  ...more,
});

async function written(
  res: Response,
  opts: AnswerOptions,
): Promise<{ ok: boolean; text: string; writes: number }> {
  let text = "";
  let writes = 0;
  const ok = await writeResponse(res, (bytes) => {
    writes++;
    text += decoder.decode(bytes);
    return Promise.resolve(true);
  }, opts);
  return { ok, text, writes };
}

test("answerBytes writes a response whose bytes ride along, with its length, date and connection fields", () => {
  const body = encoder.encode('{"ok":true}');
  const res: RawBodyResponse = new Response(body, {
    status: 200,
    headers: { "content-type": "application/json", "content-length": "999" },
  });
  res[RAW_BODY] = body;
  const bytes = answerBytes(res, options({ close: true }));
  assert.ok(bytes !== undefined);
  const text = decoder.decode(bytes);
  assert.match(text, /^HTTP\/1\.1 200 OK\r\n/);
  assert.match(text, /\r\ncontent-type: application\/json\r\n/);
  assert.match(text, /\r\ncontent-length: 11\r\n/, "the length is the body's, not a stale field's");
  assert.doesNotMatch(text, /999/);
  assert.match(text, /\r\nconnection: close\r\n/);
  assert.match(text, /\r\ndate: Mon, 07 Dec 2026 08:00:00 GMT\r\n/);
  assert.ok(text.endsWith('\r\n\r\n{"ok":true}'));
  const head = decoder.decode(answerBytes(res, options({ headOnly: true }))!);
  assert.ok(head.endsWith("content-length: 11\r\n\r\n"), "HEAD: the length, no body");
  assert.doesNotMatch(head, /connection: close/);
  assert.equal(
    answerBytes(new Response("streamed"), options()),
    undefined,
    "a body stream is not known in advance",
  );
  const empty = decoder.decode(answerBytes(new Response(null, { status: 204 }), options())!);
  assert.doesNotMatch(empty, /content-length/i, "204 has no length field");
});

test("writeResponse sends a complete body with a length, one still being produced chunked, or close-delimited to HTTP/1.0", async () => {
  const whole = await written(new Response('{"a":1}', { status: 404 }), options());
  assert.equal(whole.ok, true);
  assert.match(whole.text, /^HTTP\/1\.1 404 Not Found\r\n/);
  assert.match(whole.text, /content-length: 7\r\n\r\n\{"a":1\}$/);
  assert.equal(whole.writes, 1, "a complete body goes in one write");

  const slow = () => {
    let n = 0;
    return new Response(
      new ReadableStream<Uint8Array>({
        async pull(controller) {
          await new Promise((resolve) => setTimeout(resolve, 5));
          if (n++ < 2) controller.enqueue(encoder.encode(`line${n}\n`));
          else controller.close();
        },
      }),
      { headers: { "content-type": "application/x-ndjson" } },
    );
  };
  const chunked = await written(slow(), options());
  assert.equal(chunked.ok, true);
  assert.match(chunked.text, /transfer-encoding: chunked\r\n\r\n6\r\nline1\n\r\n6\r\nline2\n\r\n0\r\n\r\n$/);
  const old = await written(slow(), options({ closeDelimited: true, close: true }));
  assert.doesNotMatch(old.text, /transfer-encoding|content-length/);
  assert.ok(old.text.endsWith("\r\n\r\nline1\nline2\n"), old.text);

  const failing = new Response(
    new ReadableStream<Uint8Array>({
      async pull(controller) {
        await new Promise((resolve) => setTimeout(resolve, 5));
        controller.error(new Error("plugin went away"));
      },
    }),
  );
  const cut = await written(failing, options());
  assert.equal(cut.ok, false, "a body that fails part way closes the connection");
  assert.doesNotMatch(cut.text, /0\r\n\r\n$/, "never a complete answer");
});

/** A full garbage collection now: `Bun.gc`, or V8's `gc` exposed at run time (Deno, Node). */
function collectGarbage(): void {
  const bun = (globalThis as { Bun?: { gc(force: boolean): void } }).Bun;
  if (bun !== undefined) return bun.gc(true);
  setFlagsFromString("--expose-gc");
  (runInNewContext("gc") as () => void)();
}

test("writeResponse holds no piece it wrote while the client stays connected, and cancels a quiet body once the client leaves", async () => {
  // Pieces still referenced after their write would add up to the whole reply (20 MiB and more)
  // for as long as the answer is written.
  const refs: WeakRef<Uint8Array>[] = [];
  let held = -1;
  let n = 0;
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      // A new task: what earlier ones touched is no longer kept for them.
      await new Promise((resolve) => setTimeout(resolve, 1));
      if (n++ < 40) {
        const piece = encoder.encode(`line${n}\n`);
        refs.push(new WeakRef(piece));
        return controller.enqueue(piece);
      }
      collectGarbage();
      held = refs.slice(0, 30).filter((r) => r.deref() !== undefined).length;
      controller.close();
    },
  }, { highWaterMark: 0 });
  const stays = await written(new Response(body), options({ gone: new Promise<void>(() => {}) }));
  assert.equal(stays.ok, true);
  assert.match(stays.text, /6\r\nline1\n\r\n[^]*7\r\nline40\n\r\n0\r\n\r\n$/);
  assert.equal(held, 0, `${held} of the first 30 pieces written still held`);

  let leave!: () => void;
  const gone = new Promise<void>((resolve) => leave = resolve);
  let cancelled = false;
  const quiet = new ReadableStream<Uint8Array>({
    async pull(controller) {
      await new Promise((resolve) => setTimeout(resolve, 1));
      if (!cancelled) controller.enqueue(encoder.encode("line\n"));
      // Then nothing more comes: only the client's leaving ends the answer.
      leave();
      await new Promise(() => {});
    },
    cancel() {
      cancelled = true;
    },
  }, { highWaterMark: 0 });
  const left = await written(new Response(quiet), options({ gone }));
  assert.equal(left.ok, false, "a client that left: the connection closes");
  assert.ok(cancelled, "the body is cancelled, its producer told");
  assert.doesNotMatch(left.text, /0\r\n\r\n$/, "never a complete answer");
});
