import { test } from "node:test";
import assert from "node:assert/strict";
import { createRouter } from "../../src/router/mod.ts";
import { pipelineSettings, resolveConfig } from "../../src/config/mod.ts";
import { Registry } from "../../src/registry/mod.ts";
import { RequestPipeline } from "../../src/pipeline/mod.ts";
import { noopLogger, systemClock } from "../../src/deps.ts";
import type { RequestMux } from "../../src/bus/mod.ts";

// No request here reaches the bus: every one is answered from the (empty) registry or the route table.
const config = resolveConfig({}, {});
const pipeline = new RequestPipeline({ registry: new Registry("sy"), mux: {} as RequestMux, settings: pipelineSettings(config), clock: systemClock, logger: noopLogger });
const app = createRouter({ pipeline, settings: () => config });

test("createRouter() keeps Hono on its RegExpRouter (a route table the TrieRouter would serve is slower per request)", async () => {
  await app.request("/v1/hello/greet", { method: "POST", body: "{}", headers: { "content-type": "application/json" } });
  const router = app.router as unknown as { activeRouter?: { name: string } };
  assert.equal(router.activeRouter?.name, "RegExpRouter");
});

test("createRouter(): other methods on a plugin route get 405 with Allow: POST; other paths 404", async () => {
  for (const method of ["GET", "PUT", "DELETE", "PATCH"]) {
    const res = await app.request("/v1/hello/greet", { method });
    assert.equal(res.status, 405, method);
    assert.equal(res.headers.get("allow"), "POST");
    assert.equal((await res.json()).error.code, "method_not_allowed");
  }
  const missing = await app.request("/v2/hello/greet", { method: "GET" });
  assert.equal(missing.status, 404);
  assert.equal((await missing.json()).error.code, "not_found");
  const unknown = await app.request("/v1/nope/greet", { method: "POST", body: "{}", headers: { "content-type": "application/json" } });
  assert.equal(unknown.status, 404);
  assert.equal((await unknown.json()).error.code, "plugin_not_found");
});
