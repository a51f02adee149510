import { test } from "node:test";
import assert from "node:assert/strict";
import { isSecretName, redactArgs, redactJson, redactUrl } from "../../src/telemetry/mod.ts";
import { resolveConfig } from "../../src/config/mod.ts";
import { credentialsInUrls } from "../../src/bus/mod.ts";

test("redactUrl() hides passwords, tokens in the userinfo and secret query values; keeps everything else", () => {
  assert.equal(redactUrl("nats://router:s3cret@n1:4222"), "nats://router:***@n1:4222");
  assert.equal(redactUrl("nats://t0ken-s3cret@n1:4222"), "nats://***@n1:4222");
  assert.equal(
    redactUrl("router:s3cret@n1:4222"),
    "router:***@n1:4222",
    "NATS accepts servers without a scheme",
  );
  assert.equal(
    redactUrl("nats://a:x@n1:4222,nats://b:y@n2:4222,n3:4222"),
    "nats://a:***@n1:4222,nats://b:***@n2:4222,n3:4222",
  );
  assert.equal(
    redactUrl("wss://edge.example/nats?token=abc&region=eu&api_key=k1&X-Amz-Signature=f00"),
    "wss://edge.example/nats?token=***&region=eu&api_key=***&X-Amz-Signature=***",
  );
  assert.equal(
    redactUrl("http://u:p@collector:4318/v1/traces?sig=1#frag"),
    "http://u:***@collector:4318/v1/traces?sig=***#frag",
  );
  for (
    const plain of [
      "nats://127.0.0.1:4222",
      "127.0.0.1:4222",
      "http://host/path@not-userinfo",
      "/etc/switchyard.json",
      "",
    ]
  ) {
    assert.equal(redactUrl(plain), plain);
  }
});

test("redactArgs() hides values after secret flags, credentials in URLs and secret keys of JSON arguments", () => {
  const argv = [
    "/usr/bin/node",
    "src/cli/main.ts",
    "plugin",
    "plugins/hello/mod.ts",
    "--nats",
    "nats://hello:hunter2@127.0.0.1:4222",
    "--options",
    '{"greeting":"Hi","apiKey":"sk-live-123","db":{"url":"postgres://app:pw@db/x","password":"pw"}}',
    "--token",
    "t0p",
    "--password=p4ss",
    "--instance-id",
    "hello-1",
  ];
  const out = redactArgs(argv);
  assert.deepEqual(out.slice(0, 5), argv.slice(0, 5));
  assert.equal(out[5], "nats://hello:***@127.0.0.1:4222");
  assert.deepEqual(JSON.parse(out[7]!), {
    greeting: "Hi",
    apiKey: "***",
    db: { url: "postgres://app:***@db/x", password: "***" },
  });
  assert.deepEqual(out.slice(8), ["--token", "***", "--password=***", "--instance-id", "hello-1"]);
  for (const secret of ["hunter2", "sk-live-123", "pw", "t0p", "p4ss"]) {
    assert.ok(!out.join(" ").includes(secret), secret);
  }
  assert.deepEqual(redactJson({ nats: { servers: ["nats://u:p@h"], pass: "x", token: null } }), {
    nats: { servers: ["nats://u:***@h"], pass: "***", token: null },
  });
  assert.ok(isSecretName("NATS_PASSWORD") && isSecretName("credsFile") && !isSecretName("servers"));
});

test("config problems never echo what a secret field holds", () => {
  const apiKey = "sy_this-is-the-raw-key-pasted-by-mistake";
  const err = (() => {
    try {
      resolveConfig({ auth: { apiKeys: { keys: [{ id: "ci", hash: apiKey }] } }, router: { host: 5 } }, {});
    } catch (e) {
      return e as Error & { problems: string[] };
    }
    throw new Error("the config was accepted");
  })();
  assert.ok(!err.message.includes(apiKey), err.message);
  assert.match(err.problems.join("\n"), /auth\.apiKeys\.keys\.0\.hash: /);
  assert.match(err.problems.join("\n"), /router\.host: .*received 5/, "other fields still say what they got");
});

test("credentialsInUrls() takes user and password, or a token, out of server URLs", () => {
  assert.deepEqual(credentialsInUrls(["nats://router:p%40ss@n1:4222", "nats://n2:4222"]), {
    servers: ["nats://n1:4222", "nats://n2:4222"],
    credentials: { user: "router", pass: "p@ss" },
  });
  assert.deepEqual(credentialsInUrls(["t0ken@n1:4222"]), {
    servers: ["n1:4222"],
    credentials: { token: "t0ken" },
  });
  assert.deepEqual(credentialsInUrls(["wss://edge.example:443"]), {
    servers: ["wss://edge.example:443"],
    credentials: {},
  });
});
