import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { exportSPKI, generateKeyPair, SignJWT } from "jose";
import { generateApiKey, hashApiKey, hashPassword } from "../../src/auth/mod.ts";
import { fixturePath, pluginPath, startStack } from "./_stack.ts";
import type { Stack } from "./_stack.ts";

const CALLER = generateApiKey();
const ADMIN = generateApiKey();
const NO_GRANTS = generateApiKey();
const b64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");

describe("router authentication and authorization", () => {
  let stack: Stack;
  let rsa: Awaited<ReturnType<typeof generateKeyPair>>;
  let rsaPem: string;
  const claims = (extra: Record<string, unknown> = {}) => ({
    sub: "user-7",
    roles: ["caller"],
    iss: "https://issuer.test",
    aud: "switchyard",
    exp: Math.floor(Date.now() / 1000) + 600,
    ...extra,
  });
  const sign = (extra?: Record<string, unknown>, alg = "RS256", key: CryptoKey | Uint8Array = rsa.privateKey) =>
    new SignJWT(claims(extra)).setProtectedHeader({ alg }).sign(key);
  const key = (k: string) => ({ "x-api-key": k });
  const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
  const calls = async () => (await stack.post("whoami/calls", {}, key(ADMIN))).body.calls as number;

  before(async () => {
    rsa = await generateKeyPair("RS256", { extractable: true });
    rsaPem = await exportSPKI(rsa.publicKey);
    stack = await startStack([fixturePath("whoami"), pluginPath("hello")], {
      auth: {
        apiKeys: {
          keys: [
            { id: "ci", hash: hashApiKey(CALLER), roles: ["caller"] },
            { id: "ops", hash: hashApiKey(ADMIN), roles: ["admin"] },
            { id: "stranger", hash: hashApiKey(NO_GRANTS) },
          ],
        },
        jwt: {
          algorithms: ["RS256", "HS256"],
          keys: [{ alg: "RS256", publicKey: rsaPem }, { alg: "HS256", secret: "a-separate-hs256-secret-0123456789abcdef" }],
          issuer: "https://issuer.test",
          audience: "switchyard",
        },
        basic: { users: [{ username: "alice", hash: await hashPassword("wonderland", 12), roles: ["caller"] }] },
        rules: [
          { roles: ["caller"], plugins: ["whoami"], methods: ["me"] },
          { roles: ["caller"], plugins: ["hello"] },
          { roles: ["admin"], plugins: ["*"] },
        ],
      },
      plugins: { hello: { rateLimit: { rps: 0.01, burst: 2 } } },
    });
  });
  after(() => stack[Symbol.asyncDispose]());

  test("a missing or wrong API key gets 401 with WWW-Authenticate at once, and the plugin is never called", async () => {
    await stack.post("whoami/me", {}, key(CALLER)); // warm the connection pool
    const before = await calls();
    let slowest = 0;
    for (const headers of [{}, key("wrong"), key(`${CALLER}x`), { "x-api-key": "" }]) {
      const res = await stack.post("whoami/me", {}, headers);
      slowest = Math.max(slowest, res.ms);
      assert.equal(res.status, 401, JSON.stringify(headers));
      assert.equal(res.body.error.code, "unauthorized");
      assert.ok(res.body.error.requestId);
      assert.match(res.headers.get("www-authenticate") ?? "", /Bearer realm="switchyard".*Basic realm="switchyard".*ApiKey/);
      // Typically a few ms; the bound leaves room for a loaded machine (the count below shows no plugin call).
      assert.ok(res.ms < 2_500, `answered in ${res.ms.toFixed(1)} ms`);
    }
    // An unknown caller learns nothing about what exists.
    assert.equal((await stack.post("no-such-plugin/x", {})).status, 401);
    assert.equal(await calls(), before, "no unauthenticated request reached the plugin");
    process.stdout.write(`# 401 for a missing or wrong API key: slowest ${slowest.toFixed(1)} ms\n`);
  });

  test("a valid API key reaches the plugin with its principal in ctx.principal", async () => {
    const res = await stack.post("whoami/me", {}, key(CALLER));
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual(res.body.principal, { id: "ci", scheme: "api_key", roles: ["caller"] });
  });

  test("JWT: alg none, expired, wrong aud, HS256 signed with the RS256 public key and malformed tokens get 401; a valid one reaches the plugin", async () => {
    const before = await calls();
    const refused: [string, string][] = [
      ["alg none", `${b64url({ alg: "none", typ: "JWT" })}.${b64url(claims())}.`],
      ["expired", await sign({ exp: Math.floor(Date.now() / 1000) - 3600 })],
      ["wrong aud", await sign({ aud: "another-service" })],
      ["algorithm confusion", await sign({}, "HS256", new TextEncoder().encode(rsaPem))],
      ["malformed", "eyJhbGciOiJSUzI1NiJ9.not-json.c2ln"],
      ["garbage", "garbage"],
    ];
    for (const [name, token] of refused) {
      const res = await stack.post("whoami/me", {}, bearer(token));
      assert.equal(res.status, 401, `${name}: ${JSON.stringify(res.body)}`);
      assert.equal(res.body.error.code, "unauthorized", name);
      assert.match(res.headers.get("www-authenticate") ?? "", /^Bearer realm="switchyard", error="invalid_token"/, name);
    }
    assert.equal(await calls(), before, "no refused token reached the plugin");
    const ok = await stack.post("whoami/me", {}, bearer(await sign()));
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    assert.equal(ok.body.principal.id, "user-7");
    assert.equal(ok.body.principal.scheme, "jwt");
    assert.deepEqual(ok.body.principal.roles, ["caller"]);
    assert.equal(ok.body.principal.claims.aud, "switchyard");
  });

  test("Basic auth against an scrypt hash: right password passes, wrong gets 401", async () => {
    const basic = (user: string, pass: string) => ({ authorization: `Basic ${Buffer.from(`${user}:${pass}`).toString("base64")}` });
    const ok = await stack.post("whoami/me", {}, basic("alice", "wonderland"));
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    assert.deepEqual(ok.body.principal, { id: "alice", scheme: "basic", roles: ["caller"] });
    const bad = await stack.post("whoami/me", {}, basic("alice", "looking-glass"));
    assert.equal(bad.status, 401);
    assert.equal(bad.body.error.code, "unauthorized");
  });

  test("a principal without a grant gets the 404 of a plugin (or method) that does not exist, and the plugin is not called", async () => {
    const before = await calls();
    const stranger = await stack.post("whoami/me", {}, key(NO_GRANTS));
    assert.equal(stranger.status, 404);
    assert.deepEqual(stranger.body.error, { ...(await stack.post("whoamj/me", {}, key(NO_GRANTS))).body.error, message: 'No plugin "whoami"', requestId: stranger.body.error.requestId });
    const ungranted = await stack.post("whoami/secret", {}, key(CALLER));
    assert.equal(ungranted.status, 404, "caller has whoami/me, not whoami/secret");
    assert.equal(ungranted.body.error.code, "method_not_found");
    assert.equal(ungranted.body.error.message, 'Plugin "whoami" has no method "secret"');
    assert.equal(await calls(), before);
    assert.equal((await stack.post("whoami/secret", {}, key(ADMIN))).status, 200, "admin has every plugin");
  });

  test("/admin routes need an admin role; catalog routes need a principal", async () => {
    const whoami = (headers: Record<string, string>) => fetch(`${stack.url}/admin/whoami`, { headers });
    assert.equal((await whoami({})).status, 401);
    const notAdmin = await whoami(key(CALLER));
    assert.equal(notAdmin.status, 403);
    assert.equal((await notAdmin.json()).error.code, "forbidden");
    const admin = await whoami(key(ADMIN));
    assert.equal(admin.status, 200);
    assert.deepEqual((await admin.json()).principal, { id: "ops", scheme: "api_key", roles: ["admin"] });
    assert.equal((await fetch(`${stack.url}/admin/anything-added-later`, { method: "POST", headers: key(CALLER) })).status, 403);
    assert.equal((await fetch(`${stack.url}/v1/plugins`)).status, 401);
    assert.equal((await fetch(`${stack.url}/openapi.json`)).status, 401);
    assert.equal((await fetch(`${stack.url}/v1/plugins`, { headers: key(CALLER) })).status, 200);
    assert.equal((await fetch(`${stack.url}/health`)).status, 200, "health stays open");
  });

  test("rate limits key on the principal: one caller's exhausted bucket leaves another's alone", async () => {
    const greet = (headers: Record<string, string>) => stack.post("hello/greet", { name: "x" }, headers);
    assert.equal((await greet(key(CALLER))).status, 200);
    assert.equal((await greet(key(CALLER))).status, 200);
    const limited = await greet(key(CALLER));
    assert.equal(limited.status, 429);
    assert.equal(limited.body.error.code, "rate_limited");
    assert.equal((await greet(key(ADMIN))).status, 200, "ops has a bucket of its own");
  });
});
