/**
 * What authentication costs per request, in process: `RouterAuth.authenticate()` for an API key,
 * a cached JWT, a cached Basic credential, and a grant check. Run on each runtime:
 *   node bench/auth_cost.ts · deno run -A bench/auth_cost.ts · bun bench/auth_cost.ts
 * @module
 */
import { Buffer } from "node:buffer";
import * as v from "valibot";
import { exportSPKI, generateKeyPair, SignJWT } from "jose";
import { AuthSchema, generateApiKey, hashApiKey, hashPassword, RouterAuth } from "../src/auth/mod.ts";
import type { Authenticated } from "../src/auth/mod.ts";
import { noopLogger, systemClock } from "../src/deps.ts";

const N = Number(process.argv[2] ?? 200_000);
const key = generateApiKey();
const rsa = await generateKeyPair("RS256", { extractable: true });
const auth = await RouterAuth.create(
  v.parse(AuthSchema, {
    apiKeys: { keys: Array.from({ length: 1000 }, (_, i) => ({ id: `k${i}`, hash: hashApiKey(i === 500 ? key : generateApiKey()), roles: ["caller"] })) },
    jwt: { algorithms: ["RS256"], keys: [{ alg: "RS256", publicKey: await exportSPKI(rsa.publicKey) }], audience: "switchyard" },
    basic: { users: [{ username: "alice", hash: await hashPassword("wonderland"), roles: ["caller"] }] },
    rules: [{ roles: ["caller"], plugins: ["hello", "text"], methods: ["greet", "upper*"] }, { roles: ["admin"], plugins: ["*"] }],
  }),
  { clock: systemClock, logger: noopLogger },
);
const token = await new SignJWT({ sub: "user-1", roles: ["caller"], aud: "switchyard", exp: Math.floor(Date.now() / 1000) + 3600 })
  .setProtectedHeader({ alg: "RS256" })
  .sign(rsa.privateKey);
const requests = {
  apiKey: new Request("http://x/v1/hello/greet", { headers: { "x-api-key": key } }),
  jwt: new Request("http://x/v1/hello/greet", { headers: { authorization: `Bearer ${token}` } }),
  basic: new Request("http://x/v1/hello/greet", { headers: { authorization: `Basic ${Buffer.from("alice:wonderland").toString("base64")}` } }),
};

async function time(name: string, fn: () => unknown): Promise<void> {
  for (let i = 0; i < 5_000; i++) await fn();
  const t0 = performance.now();
  for (let i = 0; i < N; i++) {
    const r = fn();
    if (r instanceof Promise) await r;
  }
  const ns = ((performance.now() - t0) * 1e6) / N;
  process.stdout.write(`${name.padEnd(34)} ${ns.toFixed(0).padStart(7)} ns/op\n`);
}

let who: Authenticated | undefined;
process.stdout.write(`auth cost on ${typeof (globalThis as { Deno?: unknown }).Deno !== "undefined" ? "deno" : typeof (globalThis as { Bun?: unknown }).Bun !== "undefined" ? "bun" : "node"}, ${N} ops each\n`);
await time("API key (1000 keys)", () => who = auth.authenticate(requests.apiKey, undefined) as Authenticated);
await time("JWT RS256, cached", () => auth.authenticate(requests.jwt, undefined));
await time("Basic scrypt, cached", () => auth.authenticate(requests.basic, undefined));
await time("grant check (2 rules)", () => auth.mayCall(who!, "hello", "greet"));
const fresh = await Promise.all(Array.from({ length: 200 }, (_, i) =>
  new SignJWT({ sub: `u${i}`, aud: "switchyard", exp: Math.floor(Date.now() / 1000) + 3600 }).setProtectedHeader({ alg: "RS256" }).sign(rsa.privateKey)
));
const t0 = performance.now();
for (const t of fresh) await auth.authenticate(new Request("http://x/", { headers: { authorization: `Bearer ${t}` } }), undefined);
process.stdout.write(`${"JWT RS256, first sight".padEnd(34)} ${(((performance.now() - t0) * 1e6) / fresh.length).toFixed(0).padStart(7)} ns/op\n`);
