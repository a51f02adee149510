import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { request } from "node:https";
import { fileURLToPath } from "node:url";
import { fixturePath, startStack } from "./_stack.ts";
import type { Stack } from "./_stack.ts";

const tlsFile = (name: string) => fileURLToPath(new URL(`../fixtures/tls/${name}`, import.meta.url));
const pem = (name: string) => readFileSync(tlsFile(name), "utf8");

/** POSTs over HTTPS to the router with an optional client certificate. */
// deno-lint-ignore no-explicit-any -- JSON bodies of several shapes
function post(port: number, path: string, client?: "alice" | "rogue"): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    const req = request({
      host: "127.0.0.1",
      port,
      path,
      method: "POST",
      ca: pem("ca.crt"),
      ...(client === undefined ? {} : { cert: pem(`${client}.crt`), key: pem(`${client}.key`) }),
      headers: { "content-type": "application/json" },
      timeout: 5_000,
    }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => text += chunk);
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: text === "" ? undefined : JSON.parse(text) }));
    });
    req.on("error", reject);
    req.on("timeout", () => req.destroy(new Error("timed out")));
    req.end("{}");
  });
}

describe("mTLS: the router verifies client certificates and takes the principal from the subject", () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack([fixturePath("whoami")], {
      router: { tls: { certFile: tlsFile("server.crt"), keyFile: tlsFile("server.key"), clientCaFile: tlsFile("ca.crt") } },
      auth: { mtls: { roles: ["caller"] }, rules: [{ principals: ["alice"], plugins: ["whoami"], methods: ["me"] }] },
    });
  });
  after(() => stack[Symbol.asyncDispose]());

  test("a certificate signed by the client CA reaches the plugin as its CN", async () => {
    const res = await post(stack.router.port, "/v1/whoami/me", "alice");
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.principal.id, "alice");
    assert.equal(res.body.principal.scheme, "mtls");
    assert.deepEqual(res.body.principal.roles, ["caller"]);
    assert.match(res.body.principal.claims.subject, /CN=alice/);
    assert.match(res.body.principal.claims.fingerprint256, /^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
    const notGranted = await post(stack.router.port, "/v1/whoami/secret", "alice");
    assert.equal(notGranted.status, 404, "a method alice may not call looks like one that does not exist");
    assert.equal(notGranted.body.error.code, "method_not_found");
  });

  test("no client certificate, or one the CA did not sign, fails the handshake", async () => {
    await assert.rejects(post(stack.router.port, "/v1/whoami/me"));
    await assert.rejects(post(stack.router.port, "/v1/whoami/me", "rogue"));
    assert.equal((await post(stack.router.port, "/v1/whoami/me", "alice")).status, 200, "the router still serves");
  });
});
