/**
 * What callers learn before and after authentication, against a real router, real plugin processes
 * and a real HTTP client: nothing about plugins before it (a drained plugin, an unknown route and
 * `/metrics` all answer 401 first), and after it only what they may call (catalog, OpenAPI, and a
 * plugin they may not call answers exactly like one that does not exist).
 * @module
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { Validator } from "@seriousme/openapi-schema-validator";
import { generateApiKey, hashApiKey, hashPassword } from "../../src/auth/mod.ts";
import { createRouter } from "../../src/router/mod.ts";
import { Registry } from "../../src/registry/mod.ts";
import { pipelineSettings, resolveConfig } from "../../src/config/mod.ts";
import { RequestPipeline } from "../../src/pipeline/mod.ts";
import { noopLogger, systemClock } from "../../src/deps.ts";
import { connectBus, RequestMux } from "../../src/bus/mod.ts";
import { startNatsServer } from "../../src/testing/mod.ts";
import { fixturePath, pluginPath, startStack } from "./_stack.ts";
import type { Stack } from "./_stack.ts";

const CALLER = generateApiKey();
const ADMIN = generateApiKey();
const STRANGER = generateApiKey();
const SCRAPER = generateApiKey();
const METRICS_TOKEN = "metrics-token-0123456789abcdef-0123456789";

/** A plugin of the catalog, as far as these tests read it. */
interface CatalogPlugin {
  name: string;
  versions: { version: string; methods: { name: string; input?: unknown }[]; instances?: { id: string }[] }[];
}
/** An error reply's body. */
interface ErrorBody {
  error: { code: string; message: string; requestId: string };
}

describe("authentication first, and only what the principal may call", () => {
  let stack: Stack;
  const key = (k: string) => ({ "x-api-key": k });
  const get = async (path: string, headers: Record<string, string> = {}) => {
    const res = await fetch(`${stack.url}${path}`, { headers });
    const text = await res.text();
    return { status: res.status, headers: res.headers, body: text.startsWith("{") ? JSON.parse(text) : text };
  };
  /** The error body without its request id, and the headers a client could compare. */
  const shape = (res: { status: number; headers: Headers; body: ErrorBody }) => ({
    status: res.status,
    error: { ...res.body.error, requestId: "-" },
    headers: [...res.headers.keys()].filter((h) => h !== "date").sort(),
  });

  before(async () => {
    stack = await startStack([fixturePath("whoami"), pluginPath("hello")], {
      auth: {
        apiKeys: {
          keys: [
            { id: "ci", hash: hashApiKey(CALLER), roles: ["caller"] },
            { id: "ops", hash: hashApiKey(ADMIN), roles: ["admin"] },
            { id: "stranger", hash: hashApiKey(STRANGER) },
            { id: "prometheus", hash: hashApiKey(SCRAPER), roles: ["metrics"] },
          ],
        },
        jwt: {
          algorithms: ["HS256"],
          keys: [{ alg: "HS256", secret: "an-hs256-secret-of-32-characters-or-more" }],
        },
        basic: {
          users: [{ username: "alice", hash: await hashPassword("wonderland", 10), roles: ["caller"] }],
        },
        rules: [
          { roles: ["caller"], plugins: ["whoami"], methods: ["me"] },
          { roles: ["caller"], plugins: ["hello"] },
          { roles: ["admin"], plugins: ["*"] },
        ],
      },
      metrics: { token: METRICS_TOKEN },
    });
  });
  after(() => stack[Symbol.asyncDispose]());

  test("a drained plugin answers 401 to an unknown caller and 404 to one who may not call it; 503 only to its callers", async () => {
    await stack.router.drainPlugin("whoami", { timeoutMs: 1_000 });
    try {
      const anonymous = await stack.post("whoami/me", {});
      assert.equal(anonymous.status, 401, "authentication comes before the plugin's state");
      assert.equal(anonymous.body.error.code, "unauthorized");
      assert.equal((await stack.post("whoami/me", {}, key("wrong"))).status, 401);
      const stranger = await stack.post("whoami/me", {}, key(STRANGER));
      const missing = await stack.post("whoamj/me", {}, key(STRANGER));
      assert.deepEqual(
        { ...shape(stranger), error: { ...shape(stranger).error, message: "-" } },
        { ...shape(missing), error: { ...shape(missing).error, message: "-" } },
        "a drained plugin the caller may not call looks like no plugin",
      );
      assert.equal(stranger.status, 404);
      const caller = await stack.post("whoami/me", {}, key(CALLER));
      assert.equal(caller.status, 503);
      assert.equal(caller.body.error.code, "draining");
    } finally {
      stack.router.lifecycle.resumePlugin("whoami");
    }
    assert.equal((await stack.post("whoami/me", {}, key(CALLER))).status, 200);
  });

  test("unknown routes and wrong methods answer 401 before 404 or 405; /health stays open", async () => {
    for (
      const [method, path] of [["GET", "/nope"], ["GET", "/v1/whoami/me"], ["DELETE", "/v1/no-such/x"], [
        "POST",
        "/v2/x",
      ]] as const
    ) {
      const res = await fetch(`${stack.url}${path}`, { method });
      assert.equal(res.status, 401, `${method} ${path}`);
      assert.ok(res.headers.get("www-authenticate"), `${method} ${path}`);
      await res.arrayBuffer();
    }
    assert.equal((await fetch(`${stack.url}/nope`, { headers: key(CALLER) })).status, 404);
    assert.equal((await fetch(`${stack.url}/v1/whoami/me`, { headers: key(CALLER) })).status, 405);
    assert.equal((await fetch(`${stack.url}/health`)).status, 200);
  });

  test("a plugin the principal may not call answers exactly like one that does not exist, whatever the request holds", async () => {
    const pairs: [string, string, RequestInit][] = [
      ["whoami/me", "whoamj/me", {}],
      ["hello/greet", "hellp/greet", { headers: { "x-plugin-version": "not a range" } }],
      ["hello/greet", "hellp/greet", { body: "{not json" }],
      ["hello/greet", "hellp/greet", { headers: { "content-type": "text/plain" } }],
      ["hello/nosuch", "hellp/nosuch", {}],
    ];
    for (const [hidden, absent, init] of pairs) {
      const call = (path: string) =>
        fetch(`${stack.url}/v1/${path}`, {
          method: "POST",
          ...init,
          headers: {
            "content-type": "application/json",
            ...key(STRANGER),
            ...(init.headers as Record<string, string>),
          },
          body: init.body ?? "{}",
        }).then(async (res) => ({ status: res.status, headers: res.headers, body: await res.json() }));
      const [a, b] = [await call(hidden), await call(absent)];
      assert.equal(a.status, 404, hidden);
      assert.deepEqual(shape(a), {
        ...shape(b),
        error: {
          ...shape(b).error,
          message: shape(b).error.message.replace(absent.split("/")[0]!, hidden.split("/")[0]!),
        },
      }, `${hidden} vs ${absent}`);
    }
    // Within a plugin it may call, a method it may not call looks like a method that does not exist.
    const secret = await stack.post("whoami/secret", {}, key(CALLER));
    const nosuch = await stack.post("whoami/nosuch", {}, key(CALLER));
    assert.equal(secret.status, 404);
    assert.deepEqual({ ...shape(secret), error: { ...shape(secret).error, message: "-" } }, {
      ...shape(nosuch),
      error: { ...shape(nosuch).error, message: "-" },
    });
  });

  test("the catalog shows a principal only the plugins and methods it may call, without instances; admins see everything", async () => {
    const caller = await get("/v1/plugins", key(CALLER));
    assert.equal(caller.status, 200);
    const byName = Object.fromEntries((caller.body.plugins as CatalogPlugin[]).map((p) => [p.name, p]));
    assert.deepEqual(Object.keys(byName).sort(), ["hello", "whoami"]);
    assert.deepEqual(byName.whoami!.versions.flatMap((v) => v.methods.map((m) => m.name)), ["me"]);
    assert.ok(byName.hello!.versions[0]!.methods.some((m) => m.name === "greet" && m.input));
    assert.ok(!JSON.stringify(caller.body).includes('"instances"'), "no instance ids, hosts or load");
    const stranger = await get("/v1/plugins", key(STRANGER));
    assert.deepEqual(stranger.body, { plugins: [] });
    const hidden = await get("/v1/plugins/whoami", key(STRANGER));
    const absent = await get("/v1/plugins/whoamj", key(STRANGER));
    assert.equal(hidden.status, 404);
    assert.deepEqual(shape(hidden).headers, shape(absent).headers);
    assert.equal(hidden.body.error.code, absent.body.error.code);
    const one = await get("/v1/plugins/whoami", key(CALLER));
    assert.deepEqual((one.body as CatalogPlugin).versions[0]!.methods.map((m) => m.name), ["me"]);
    const admin = await get("/v1/plugins", key(ADMIN));
    const whoami = (admin.body.plugins as CatalogPlugin[]).find((p) => p.name === "whoami")!;
    assert.deepEqual(whoami.versions[0]!.methods.map((m) => m.name).sort(), ["calls", "me", "secret"]);
    assert.ok(
      (whoami.versions[0]?.instances?.length ?? 0) >= 1 && whoami.versions[0]?.instances?.[0]?.id,
      "admins see instances",
    );
  });

  test("/openapi.json lists only the operations the principal may call and the configured security schemes", async () => {
    const doc = (await get("/openapi.json", key(CALLER))).body;
    const result = await new Validator().validate(doc);
    assert.equal(result.valid, true, JSON.stringify(result.errors)?.slice(0, 2000));
    assert.ok(doc.paths["/v1/whoami/me"] && doc.paths["/v1/hello/greet"]);
    assert.equal(doc.paths["/v1/whoami/secret"], undefined);
    assert.equal(
      doc.components.schemas["whoami.secret.input"],
      undefined,
      "no schema of a method it may not call",
    );
    assert.deepEqual(doc.components.securitySchemes, {
      apiKey: { type: "apiKey", in: "header", name: "x-api-key" },
      bearer: { type: "http", scheme: "bearer", bearerFormat: "JWT" },
      basic: { type: "http", scheme: "basic" },
    });
    assert.deepEqual(doc.security, [{ apiKey: [] }, { bearer: [] }, { basic: [] }]);
    const stranger = (await get("/openapi.json", key(STRANGER))).body;
    assert.deepEqual(stranger.paths, {});
    assert.deepEqual(stranger.tags, []);
    assert.equal((await get("/openapi.json")).status, 401);
  });

  test("/metrics: 401 without credentials, 403 for a principal without a metrics or admin role, 200 for metrics and admin roles and the token", async () => {
    const anonymous = await get("/metrics");
    assert.equal(anonymous.status, 401);
    assert.ok(!String(anonymous.body).includes("switchyard_requests_total"));
    assert.equal((await get("/metrics", key(CALLER))).status, 403);
    assert.equal((await get("/metrics", { authorization: "Bearer wrong-token" })).status, 401);
    for (const headers of [key(SCRAPER), key(ADMIN), { authorization: `Bearer ${METRICS_TOKEN}` }]) {
      const res = await get("/metrics", headers);
      assert.equal(res.status, 200, JSON.stringify(headers));
      assert.match(String(res.body), /switchyard_requests_total/);
    }
  });
});

test("/metrics without auth: metrics.token guards it, reloaded per scrape", async () => {
  await using nats = await startNatsServer();
  const nc = await connectBus({ servers: [nats.url] });
  try {
    let config = resolveConfig({ metrics: { token: METRICS_TOKEN, processMetrics: false } }, {});
    const pipeline = new RequestPipeline({ registry: new Registry("sy"), mux: new RequestMux(nc), settings: pipelineSettings(config), clock: systemClock, logger: noopLogger });
    const app = createRouter({ pipeline, settings: () => config });
    assert.equal((await app.request("/metrics")).status, 401);
    assert.equal(
      (await app.request("/metrics", { headers: { authorization: `Bearer ${METRICS_TOKEN}x` } })).status,
      401,
    );
    assert.equal(
      (await app.request("/metrics", { headers: { authorization: `Bearer ${METRICS_TOKEN}` } })).status,
      200,
    );
    assert.equal((await app.request("/v1/plugins")).status, 200, "the rest stays open without auth");
    const next = `${METRICS_TOKEN}-rotated`;
    config = { ...config, metrics: { ...config.metrics, token: next } };
    assert.equal(
      (await app.request("/metrics", { headers: { authorization: `Bearer ${METRICS_TOKEN}` } })).status,
      401,
      "the old token no longer works",
    );
    assert.equal(
      (await app.request("/metrics", { headers: { authorization: `Bearer ${next}` } })).status,
      200,
    );
  } finally {
    await nc.close();
  }
});
