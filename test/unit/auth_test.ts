import { before, describe, test } from "node:test";
import { Buffer } from "node:buffer";
import assert from "node:assert/strict";
import * as v from "valibot";
import { exportSPKI, generateKeyPair, SignJWT } from "jose";
import {
  ApiKeys,
  Authorizer,
  AuthSchema,
  createAuthenticator,
  generateApiKey,
  globsMatcher,
  hashApiKey,
  hashPassword,
  parsePasswordHash,
  verifyPassword,
} from "../../src/auth/mod.ts";
import type { AuthOptions, Authenticated } from "../../src/auth/mod.ts";
import { FakeClock } from "../../src/testing/mod.ts";
import { noopLogger } from "../../src/deps.ts";

const b64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");
const HS_SECRET = "an-hs256-secret-of-at-least-32-characters!";

test("hashApiKey() and ApiKeys.verify() find a key by its SHA-256 and refuse others", () => {
  const key = generateApiKey();
  assert.match(key, /^sy_[A-Za-z0-9_-]{43}$/);
  assert.match(hashApiKey(key), /^sha256:[0-9a-f]{64}$/);
  const keys = new ApiKeys([{ id: "ci", hash: hashApiKey(key), roles: ["deploy"] }]);
  assert.deepEqual(keys.verify(key)?.principal, { id: "ci", scheme: "api_key", roles: ["deploy"] });
  assert.equal(keys.verify(`${key}x`), undefined);
  assert.equal(keys.verify(""), undefined);
  assert.equal(keys.verify("x".repeat(10_000)), undefined);
});

test("hashPassword() makes a PHC scrypt hash that verifyPassword() checks", async () => {
  const phc = await hashPassword("wonderland", 10);
  assert.match(phc, /^\$scrypt\$ln=10,r=8,p=1\$[A-Za-z0-9+/]+=*\$[A-Za-z0-9+/]+=*$/);
  assert.notEqual(await hashPassword("wonderland", 10), phc, "salted");
  assert.equal(await verifyPassword("wonderland", parsePasswordHash(phc)), true);
  assert.equal(await verifyPassword("Wonderland", parsePasswordHash(phc)), false);
  assert.throws(() => parsePasswordHash("$scrypt$ln=40,r=8,p=1$AA$AA"), /out of range/);
});

test("globsMatcher() matches * and ? and nothing else", () => {
  const m = globsMatcher(["billing-*", "a?c"]);
  assert.ok(m("billing-eu") && m("abc") && !m("billing") && !m("ac") && !m("xbilling-eu"));
  assert.ok(globsMatcher(["*"])("anything"));
  assert.ok(!globsMatcher(["a.c"])("abc"), "a dot is literal");
});

test("Authorizer.allows() needs every condition of one rule; no rules allows all", () => {
  const p = (id: string, roles: string[] = [], claims: Record<string, unknown> = {}) => ({ id, roles, claims });
  const rules = v.parse(AuthSchema, {
    rules: [
      { roles: ["reader"], plugins: ["catalog"], methods: ["get*", "list"] },
      { principals: ["svc-*"], roles: ["writer"], plugins: ["catalog"] },
      { claims: { tenant: ["acme", "globex"] }, plugins: ["billing-*"] },
    ],
  }).rules;
  const authz = new Authorizer(rules, ["admin"]);
  assert.ok(authz.allows(p("u1", ["reader"]), "catalog", "getItem"));
  assert.ok(!authz.allows(p("u1", ["reader"]), "catalog", "delete"));
  assert.ok(!authz.allows(p("u1", ["writer"]), "catalog", "delete"), "principals and roles must both hold");
  assert.ok(authz.allows(p("svc-sync", ["writer"]), "catalog", "delete"));
  assert.ok(authz.allows(p("u2", [], { tenant: "acme" }), "billing-eu", "charge"));
  assert.ok(!authz.allows(p("u2", [], { tenant: "initech" }), "billing-eu", "charge"));
  assert.ok(!authz.allows(p("u3"), "hello", "greet"));
  assert.ok(new Authorizer(undefined, ["admin"]).allows(p("anyone"), "hello", "greet"));
  assert.ok(authz.isAdmin(p("root", ["admin"])) && !authz.isAdmin(p("u1", ["reader"])));
});

describe("createAuthenticator() with JWT", () => {
  const clock = new FakeClock(Date.parse("2026-01-01T00:00:00Z"));
  const now = () => Math.floor(clock.now() / 1000);
  let rsa: Awaited<ReturnType<typeof generateKeyPair>>;
  let ec: Awaited<ReturnType<typeof generateKeyPair>>;
  let rsaPem: string;
  let auth: Awaited<ReturnType<typeof createAuthenticator>>;
  before(async () => {
    rsa = await generateKeyPair("RS256", { extractable: true });
    ec = await generateKeyPair("ES256", { extractable: true });
    rsaPem = await exportSPKI(rsa.publicKey);
    const config: AuthOptions = {
      jwt: {
        algorithms: ["RS256", "ES256", "HS256"],
        keys: [{ alg: "RS256", publicKey: rsaPem }, { alg: "ES256", publicKey: await exportSPKI(ec.publicKey) }, { alg: "HS256", secret: HS_SECRET }],
        issuer: "https://issuer.test",
        audience: "switchyard",
        clockSkewSec: 30,
      },
    };
    auth = await createAuthenticator(v.parse(AuthSchema, config), { clock, logger: noopLogger });
  });
  const claims = (extra: Record<string, unknown> = {}) => ({ sub: "user-1", roles: ["reader"], iss: "https://issuer.test", aud: "switchyard", exp: now() + 600, ...extra });
  const sign = (alg: string, key: CryptoKey | Uint8Array, extra?: Record<string, unknown>) =>
    new SignJWT(claims(extra)).setProtectedHeader({ alg }).sign(key);
  const bearer = (token: string) => new Request("http://x/", { headers: { authorization: `Bearer ${token}` } });
  const verify = async (token: string): Promise<Authenticated> => await auth.authenticate(bearer(token), undefined);
  const refusal = async (token: string): Promise<string> => {
    try {
      await verify(token);
    } catch (err) {
      const e = err as { status: number; code: string; headers: Record<string, string>; message: string };
      assert.equal(e.status, 401);
      assert.equal(e.code, "unauthorized");
      assert.match(e.headers["www-authenticate"]!, /^Bearer realm="switchyard", error="invalid_token"/);
      return e.message;
    }
    assert.fail(`token was accepted: ${token.slice(0, 40)}…`);
  };

  test("valid RS256, ES256 and HS256 tokens give the principal with roles and claims", async () => {
    for (const [alg, key] of [["RS256", rsa.privateKey], ["ES256", ec.privateKey], ["HS256", new TextEncoder().encode(HS_SECRET)]] as [string, CryptoKey | Uint8Array][]) {
      const who = await verify(await sign(alg, key));
      assert.equal(who.principal.id, "user-1", alg);
      assert.equal(who.principal.scheme, "jwt");
      assert.deepEqual(who.principal.roles, ["reader"]);
      assert.equal(who.principal.claims?.iss, "https://issuer.test");
      assert.deepEqual(JSON.parse(who.header).id, "user-1");
    }
  });

  test("alg none, expired, wrong aud, wrong iss, future nbf, algorithm confusion and malformed tokens are refused", async () => {
    const none = `${b64url({ alg: "none", typ: "JWT" })}.${b64url(claims())}.`;
    assert.match(await refusal(none), /not allowed|malformed/);
    assert.match(await refusal(await sign("RS256", rsa.privateKey, { exp: now() - 3600 })), /expired/);
    assert.match(await refusal(await sign("RS256", rsa.privateKey, { aud: "someone-else" })), /"aud"/);
    assert.match(await refusal(await sign("RS256", rsa.privateKey, { iss: "https://evil.test" })), /"iss"/);
    assert.match(await refusal(await sign("RS256", rsa.privateKey, { nbf: now() + 3600 })), /"nbf"/);
    assert.match(await refusal(await sign("RS256", rsa.privateKey, { exp: undefined })), /"exp"/);
    // Algorithm confusion: HS256 "signed" with the RS256 public key as the HMAC secret.
    const confused = await sign("HS256", new TextEncoder().encode(rsaPem));
    assert.match(await refusal(confused), /bad signature/);
    for (const bad of ["not-a-jwt", "a.b.c", "..", `${b64url({ alg: "RS256" })}.e30.AAAA`, "x".repeat(9000)]) await refusal(bad);
  });

  test("a token within the clock skew of its exp still passes; a verified token is served from the cache", async () => {
    const token = await sign("RS256", rsa.privateKey, { exp: now() - 10 });
    const who = await verify(token);
    assert.equal(who.principal.id, "user-1");
    const again = auth.authenticate(bearer(token), undefined);
    assert.ok(!(again instanceof Promise), "a cache hit answers synchronously");
  });

  test("an RS256-only verifier refuses HS256 tokens outright", async () => {
    const rsOnly = await createAuthenticator(v.parse(AuthSchema, { jwt: { algorithms: ["RS256"], keys: [{ alg: "RS256", publicKey: rsaPem }] } }), { clock, logger: noopLogger });
    const token = await sign("HS256", new TextEncoder().encode(rsaPem));
    await assert.rejects(async () => await rsOnly.authenticate(bearer(token), undefined), /algorithm not allowed/);
  });
});

test("createAuthenticator() answers 401 with a challenge per configured scheme, and never falls back after wrong credentials", async () => {
  const key = generateApiKey();
  const auth = await createAuthenticator(
    v.parse(AuthSchema, {
      apiKeys: { keys: [{ id: "ci", hash: hashApiKey(key) }] },
      basic: { users: [{ username: "alice", hash: await hashPassword("wonderland", 10) }] },
    }),
    { clock: new FakeClock(), logger: noopLogger },
  );
  const req = (headers: Record<string, string>) => new Request("http://x/", { headers });
  assert.throws(() => auth.authenticate(req({}), undefined), (err: { status: number; headers: Record<string, string> }) => {
    assert.equal(err.status, 401);
    assert.equal(err.headers["www-authenticate"], 'Basic realm="switchyard", charset="UTF-8", ApiKey realm="switchyard", header="x-api-key"');
    return true;
  });
  assert.throws(() => auth.authenticate(req({ "x-api-key": "wrong", authorization: "Basic xx" }), undefined), /no valid API key/);
  assert.throws(() => auth.authenticate(req({ authorization: "Bearer abc" }), undefined), /"bearer" authorization scheme is not accepted/);
  const basic = (user: string, pass: string) => req({ authorization: `Basic ${Buffer.from(`${user}:${pass}`).toString("base64")}` });
  assert.equal((await auth.authenticate(basic("alice", "wonderland"), undefined)).principal.id, "alice");
  await assert.rejects(async () => await auth.authenticate(basic("alice", "nope"), undefined), /Wrong username or password/);
  await assert.rejects(async () => await auth.authenticate(basic("bob", "wonderland"), undefined), /Wrong username or password/);
  assert.equal((auth.authenticate(req({ "x-api-key": key }), undefined) as Authenticated).principal.id, "ci");
});
