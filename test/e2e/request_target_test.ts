import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { resolveConfig } from "../../src/config/mod.ts";
import { startRouter } from "../../src/cli/router_command.ts";
import type { StartedRouter } from "../../src/cli/router_command.ts";
import { currentRuntime } from "../../src/runtime/mod.ts";
import type { ConnectionGuardMode } from "../../src/runtime/mod.ts";
import { fixturePath, startStack } from "./_stack.ts";
import type { Stack } from "./_stack.ts";
import { rawHttp } from "./_raw_http.ts";

// `sy_NTAI…` hashes to the entry below (docs/security.md): a caller that may call admin.delete.
const KEY = "sy_NTAIzNpE0Na0ip36pClUf97PHIvvXN38WBcP0t26cfc";
const KEY_HASH = "sha256:d7c25884d5ee27b9c0594f0d7a0d2cd1172e7be48e7d41ae83f14de227f8aca5";

/**
 * Request targets a URL parser resolves to `/v1/admin/delete` (or near it), so a proxy rule on
 * `/v1/admin/*` in front would not see them. Sent as raw bytes: no client normalises them.
 */
const VARIANTS = [
  "/v1/echo/../admin/delete",
  "/v1/echo/%2E%2E/admin/delete",
  "/v1/echo/%2e%2e/admin/delete",
  "/v1/echo/%2e%2E/admin/delete",
  "/v1/echo/.%2e/admin/delete",
  "/v1/echo/%2E./admin/delete",
  "/v1/./admin/delete",
  "/v1/%2e/admin/delete",
  "/v1/%2E/admin/delete",
  "/v1/echo/./../admin/delete",
  "/v1/x/y/../../admin/delete",
  "/v1/admin/x/../delete",
  "/v1/admin/delete/.",
  "/%2e%2e/v1/admin/delete",
  "/v1/echo%2F..%2Fadmin/delete",
  "/v1/admin%2Fdelete/x",
  "/v1/admin%2fdelete/x",
  "/v1/echo\\..\\admin/delete",
  "/v1\\admin\\delete",
  "/v1/echo%5C..%5Cadmin/delete",
  "/v1/echo%5c..%5cadmin/delete",
  "//v1/admin/delete",
  "/v1//admin/delete",
  "http://x/v1/echo/../admin/delete",
  "http://x/v1/echo/%2e%2e/admin/delete",
];

const request = (target: string, key?: string) =>
  `POST ${target} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2\r\n${key === undefined ? "" : `x-api-key: ${key}\r\n`}\r\n{}`;

/** The other way this runtime's adapter serves: Deno without the guard, Bun behind it (Node has one way). */
const OTHER_MODE: Partial<Record<string, ConnectionGuardMode>> = { deno: "off", bun: "on" };

describe("request targets with dot segments or encoded slashes get 400 invalid_path", () => {
  let stack: Stack;
  let other: StartedRouter | undefined;
  const routers: { name: string; port: number }[] = [];
  const config = {
    auth: { apiKeys: { keys: [{ id: "ci", hash: KEY_HASH }] } },
  };
  before(async () => {
    stack = await startStack([fixturePath("admin")], config);
    routers.push({ name: `${currentRuntime()} (connectionGuard auto)`, port: stack.router.port });
    const mode = OTHER_MODE[currentRuntime()];
    if (mode !== undefined) {
      other = await startRouter(
        resolveConfig({ ...config, nats: { servers: [stack.nats.url] }, router: { host: "127.0.0.1", port: 0, connectionGuard: mode } }, {}),
        stack.logs,
      );
      routers.push({ name: `${currentRuntime()} (connectionGuard ${mode})`, port: other.port });
    }
  });
  after(async () => {
    await other?.stop();
    await stack[Symbol.asyncDispose]();
  });

  const calls = async () => (await stack.post("admin/calls", {}, { "x-api-key": KEY })).body.calls as number;

  test(`${VARIANTS.length} variants, raw and percent-encoded, never reach the plugin`, async () => {
    for (const { name, port } of routers) {
      // The plain path works: the variants below would reach admin.delete if the router normalised them.
      const plain = await rawHttp(port, request("/v1/admin/delete", KEY));
      assert.equal(plain.status, 200, `${name}: ${plain.text.slice(0, 200)}`);
      const before = await calls();
      for (const target of VARIANTS) {
        const res = await rawHttp(port, request(target, KEY));
        assert.equal(res.status, 400, `${name} ${target}: ${res.text.slice(0, 200)}`);
        assert.match(res.text, /"code":"invalid_path"/, `${name} ${target}`);
        assert.match(res.text, /"requestId":"[^"]+"/, `${name} ${target}`);
        assert.match(res.text, /\r\nconnection: close\r\n/i, `${name} ${target}`);
      }
      assert.equal(await calls(), before, `${name}: no variant reached admin.delete`);
    }
  });

  test("the path is checked before authentication: no credentials still get 400, not 401", async () => {
    for (const { name, port } of routers) {
      for (const target of ["/v1/echo/../admin/delete", "/v1/echo/%2e%2e/admin/delete", "/v1/echo\\..\\admin/delete"]) {
        const res = await rawHttp(port, request(target));
        assert.equal(res.status, 400, `${name} ${target}: ${res.text.slice(0, 200)}`);
        assert.match(res.text, /"code":"invalid_path"/);
      }
      assert.equal((await rawHttp(port, request("/v1/admin/delete"))).status, 401, `${name}: the plain path still asks for credentials`);
    }
  });

  test("a query may hold dots and slashes; a client's request id is echoed", async () => {
    for (const { name, port } of routers) {
      const res = await rawHttp(port, request("/v1/admin/calls?next=/../admin/delete%2F", KEY));
      assert.equal(res.status, 200, `${name}: ${res.text.slice(0, 200)}`);
      const refused = await rawHttp(port, request("/v1/./admin/delete", KEY).replace("Host: x\r\n", "Host: x\r\nx-request-id: trace-42\r\n"));
      assert.match(refused.text, /"requestId":"trace-42"/, name);
    }
  });
});
