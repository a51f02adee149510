import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { resolveConfig } from "../../src/config/mod.ts";
import {
  instanceEnv,
  readCredentialsFile,
  specChange,
  specsFromConfig,
  writeInstanceCredentials,
} from "../../src/supervisor/mod.ts";

const SUPERVISOR_ENV = {
  PATH: "/usr/bin",
  HOME: "/home/sy",
  LC_ALL: "C.UTF-8",
  OTEL_SERVICE_NAME: "edge",
  OTEL_EXPORTER_OTLP_HEADERS: "authorization=Bearer x",
  OTEL_EXPORTER_OTLP_TRACES_HEADERS: "authorization=Bearer y",
  NATS_PASSWORD: "sup-secret",
  NATS_USER: "supervisor",
  SWITCHYARD_ADMIN_TOKEN: "t",
  DATABASE_URL: "postgres://secret",
  WEATHER_API_KEY: "w",
  WEATHER_REGION: "eu",
};

test("instanceEnv() keeps the bare necessities, adds the config's env, and passes requested names but never NATS_*, SWITCHYARD_* or OTEL headers", () => {
  assert.deepEqual(instanceEnv(SUPERVISOR_ENV), {
    PATH: "/usr/bin",
    HOME: "/home/sy",
    LC_ALL: "C.UTF-8",
    OTEL_SERVICE_NAME: "edge",
  });
  const env = instanceEnv(SUPERVISOR_ENV, {
    env: { GREETING: "hi", NATS_INBOX_PREFIX: "_INBOX_mine" },
    requested: ["WEATHER_*", "NATS_PASSWORD", "SWITCHYARD_*", "OTEL_EXPORTER_OTLP_HEADERS", "*"],
    extra: { SWITCHYARD_PARENT_PID: "42" },
  });
  assert.deepEqual(env, {
    PATH: "/usr/bin",
    HOME: "/home/sy",
    LC_ALL: "C.UTF-8",
    OTEL_SERVICE_NAME: "edge",
    WEATHER_API_KEY: "w",
    WEATHER_REGION: "eu",
    GREETING: "hi",
    // The operator's own choice in plugins.<name>.env is kept, even a NATS_* name.
    NATS_INBOX_PREFIX: "_INBOX_mine",
    SWITCHYARD_PARENT_PID: "42",
  });
  assert.equal(
    instanceEnv(SUPERVISOR_ENV, { requested: true }).DATABASE_URL,
    undefined,
    "`true` (read any) passes nothing more",
  );
});

test("writeInstanceCredentials() writes a 0600 nats.json and copies of the files into a 0700 folder; readCredentialsFile() reads it back; remove() deletes it", () => {
  const src = mkdtempSync(join(tmpdir(), "sy-creds-src-"));
  try {
    writeFileSync(join(src, "user.nk"), "SUAEXAMPLESEED");
    writeFileSync(join(src, "ca.pem"), "CA");
    const secrets = writeInstanceCredentials({
      user: "hello",
      pass: "p",
      nkeySeedFile: join(src, "user.nk"),
      inboxPrefix: "_INBOX_hello",
    }, join(src, "ca.pem"))!;
    assert.equal(statSync(secrets.dir).mode & 0o777, 0o700);
    const creds = readCredentialsFile(secrets.file);
    assert.deepEqual(creds, {
      user: "hello",
      pass: "p",
      inboxPrefix: "_INBOX_hello",
      nkeySeedFile: join(secrets.dir, "nkey.seed"),
      tls: { caFile: join(secrets.dir, "ca.pem") },
    });
    for (const file of [secrets.file, creds.nkeySeedFile!, creds.tls!.caFile!]) {
      assert.equal(dirname(file), secrets.dir);
      assert.equal(statSync(file).mode & 0o777, 0o600, file);
    }
    secrets.remove();
    assert.equal(existsSync(secrets.dir), false);
    assert.equal(
      writeInstanceCredentials(undefined, undefined),
      undefined,
      "nothing to hand over: no folder",
    );
    assert.throws(
      () => writeInstanceCredentials({ credsFile: join(src, "missing.creds") }),
      /Cannot read the NATS creds file/,
    );
  } finally {
    rmSync(src, { recursive: true, force: true });
  }
});

test("specsFromConfig() takes plugins.<name>.nats with files relative to the config file, names a missing one, and a change of it replaces the plugin", () => {
  const dir = mkdtempSync(join(tmpdir(), "sy-spec-"));
  try {
    writeFileSync(join(dir, "mod.ts"), "export default {};\n");
    writeFileSync(join(dir, "hello.nk"), "SU…");
    const config = (nats: unknown) => resolveConfig({ plugins: { hello: { module: "mod.ts", nats } } }, {});
    const [spec] = specsFromConfig(
      config({ nkeySeedFile: "hello.nk", inboxPrefix: "_INBOX_hello" }),
      join(dir, "switchyard.config.json"),
      "node",
    );
    assert.deepEqual(spec!.nats, { inboxPrefix: "_INBOX_hello", nkeySeedFile: join(dir, "hello.nk") });
    assert.throws(
      () =>
        specsFromConfig(config({ credsFile: "missing.creds" }), join(dir, "switchyard.config.json"), "node"),
      /plugins\.hello\.nats\.credsFile: .*missing\.creds does not exist/,
    );
    assert.throws(() => config({ password: "x" }), /plugins\.hello\.nats\.password: unknown key/);
    const [other] = specsFromConfig(
      config({ user: "hello", pass: "p" }),
      join(dir, "switchyard.config.json"),
      "node",
    );
    assert.equal(specChange(spec!, other!).replace, true);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
