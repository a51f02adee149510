import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { connect } from "node:net";
import { resolveConfig } from "../../src/config/mod.ts";
import { startRouter } from "../../src/cli/router_command.ts";
import type { StartedRouter } from "../../src/cli/router_command.ts";
import { currentRuntime } from "../../src/runtime/mod.ts";
import { pluginPath, startStack } from "./_stack.ts";
import type { Stack } from "./_stack.ts";
import { uploadUntilClosed } from "./_upload.ts";
import type { UploadResult } from "./_upload.ts";

const KEY = "sy_NTAIzNpE0Na0ip36pClUf97PHIvvXN38WBcP0t26cfc";
const KEY_HASH = "sha256:d7c25884d5ee27b9c0594f0d7a0d2cd1172e7be48e7d41ae83f14de227f8aca5";
const MiB = 1024 * 1024;
const UPLOAD = 256 * MiB;
/** Loopback socket buffers on both hops (client → guard → backend) hold a few MiB each. */
const MAX_ACCEPTED = 48 * MiB;
const REQUEST_TIMEOUT_MS = 1_500;

const head = (headers: string) => `POST /v1/hello/greet HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n${headers}\r\n`;

interface Served {
  name: string;
  port: number;
  /** Bun serving by itself closes at once when it answers with an upload unread: the answer may be reset away. */
  answerMayBeLost: boolean;
}

describe("an error answered before the body was read closes the connection and stops the upload", () => {
  let stack: Stack;
  let guarded: StartedRouter | undefined;
  const servers: Served[] = [];
  const config = {
    router: { bodyLimitBytes: 64 * 1024, requestTimeoutMs: REQUEST_TIMEOUT_MS },
    auth: { apiKeys: { keys: [{ id: "ci", hash: KEY_HASH }] } },
  };
  before(async () => {
    stack = await startStack([pluginPath("hello")], config);
    const runtime = currentRuntime();
    servers.push({ name: `${runtime} (default)`, port: stack.router.port, answerMayBeLost: runtime === "bun" });
    if (runtime === "bun") {
      guarded = await startRouter(
        resolveConfig({ ...config, nats: { servers: [stack.nats.url] }, router: { ...config.router, host: "127.0.0.1", port: 0, connectionGuard: "on" } }, {}),
        stack.logs,
      );
      servers.push({ name: "bun (behind the guard)", port: guarded.port, answerMayBeLost: false });
    }
  });
  after(async () => {
    await guarded?.stop();
    await stack[Symbol.asyncDispose]();
  });

  const check = (served: Served, what: string, res: UploadResult, status: number) => {
    const label = `${served.name}, ${what}`;
    // deno-lint-ignore no-console -- the figures the docs quote
    console.log(`${label}: ${(res.accepted / MiB).toFixed(1)} MiB of ${UPLOAD / MiB} MiB accepted, answer ${res.status || "none"}, closed ${res.closeAfterAnswerMs?.toFixed(0) ?? "?"} ms after it`);
    assert.ok(res.closedByServer, `${label}: the server closed the connection`);
    assert.ok(res.accepted < MAX_ACCEPTED, `${label}: ${(res.accepted / MiB).toFixed(1)} MiB accepted`);
    if (res.status === 0 && served.answerMayBeLost) return;
    assert.equal(res.status, status, `${label}: ${res.text.slice(0, 300)}`);
    assert.match(res.text, /\r\nconnection: close\r\n/i, label);
    assert.match(res.text, /"error":\{"code":"/, label);
  };

  test("401 on a 256 MiB upload with a wrong key, by length and chunked", async () => {
    for (const served of servers) {
      check(served, "401, Content-Length", await uploadUntilClosed(served.port, head(`x-api-key: wrong\r\nContent-Length: ${UPLOAD}\r\n`), UPLOAD), 401);
      check(served, "401, chunked", await uploadUntilClosed(served.port, head("x-api-key: wrong\r\nTransfer-Encoding: chunked\r\n"), UPLOAD), 401);
    }
  });

  test("413 on a declared length over the limit, and on a chunked body once it passes the limit", async () => {
    for (const served of servers) {
      check(served, "413, Content-Length", await uploadUntilClosed(served.port, head(`x-api-key: ${KEY}\r\nContent-Length: ${UPLOAD}\r\n`), UPLOAD), 413);
      check(served, "413, chunked", await uploadUntilClosed(served.port, head(`x-api-key: ${KEY}\r\nTransfer-Encoding: chunked\r\n`), UPLOAD), 413);
    }
  });

  test("a body that trickles in gets 408 and its connection closes within a second of it", async () => {
    for (const served of servers) {
      const res = await new Promise<{ status: number; closeAfterAnswerMs: number | undefined }>((resolve) => {
        let text = "";
        let answeredAt: number | undefined;
        const socket = connectSlow(served.port, (data) => {
          answeredAt ??= performance.now();
          text += data;
        }, () => resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0), closeAfterAnswerMs: answeredAt === undefined ? undefined : performance.now() - answeredAt }));
        setTimeout(() => socket.destroy(), REQUEST_TIMEOUT_MS * 10).unref?.();
      });
      // deno-lint-ignore no-console -- as above
      console.log(`${served.name}, slow body: ${res.status}, closed ${res.closeAfterAnswerMs?.toFixed(0)} ms after it`);
      assert.equal(res.status, 408, served.name);
      assert.ok(res.closeAfterAnswerMs !== undefined && res.closeAfterAnswerMs < 2_000, `${served.name}: closed ${res.closeAfterAnswerMs} ms after the 408`);
    }
  });

  test("the router keeps serving", async () => {
    assert.equal((await stack.post("hello/greet", { name: "still up" }, { "x-api-key": KEY })).status, 200);
  });
});

/** Sends a request whose body never completes: one byte every 200 ms. */
function connectSlow(port: number, onData: (text: string) => void, onClose: () => void) {
  const socket = connect(port, "127.0.0.1");
  socket.setEncoding("utf8");
  let timer: ReturnType<typeof setInterval> | undefined;
  socket.on("connect", () => {
    socket.write(head(`x-api-key: ${KEY}\r\nContent-Length: 100\r\n`) + "{");
    timer = setInterval(() => socket.writable && socket.write(" "), 200);
  });
  socket.on("data", onData);
  socket.on("error", () => {});
  socket.on("close", () => {
    clearInterval(timer);
    onClose();
  });
  return socket;
}
