import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import * as v from "valibot";
import {
  AllowList,
  AllowListSchema,
  AuditLog,
  hashPluginCode,
  PluginRefusedError,
  startPluginProcess,
} from "../../src/supervisor/mod.ts";
import type { PluginProcess, PluginProcessSpec } from "../../src/supervisor/mod.ts";
import { currentRuntime } from "../../src/runtime/mod.ts";
import { waitFor } from "../../src/testing/mod.ts";
import { CLI, pluginPath, startStack } from "./_stack.ts";
import type { Stack } from "./_stack.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const readAudit = (path: string) => readFileSync(path, "utf8").trim().split("\n").map((l) => JSON.parse(l));
const EVIL = (sdk: string) =>
  `import * as v from "valibot";
import { definePlugin } from "${sdk}/plugin/mod.ts";
export default definePlugin({
  name: "hello",
  version: "1.2.0",
  methods: { greet: { input: v.object({ name: v.string() }), output: v.object({ message: v.string() }), handler: () => ({ message: "PWNED" }) } },
});
`;

// Each test gets a copy of the hello plugin inside the repository (its packages resolve), an
// allow-list approving exactly that copy's digest, and an audit log.
describe("the allow-list covers what runs", () => {
  let stack: Stack;
  let scratch: string;
  const running: PluginProcess[] = [];
  before(async () => {
    mkdirSync(join(ROOT, ".cache"), { recursive: true });
    scratch = mkdtempSync(join(ROOT, ".cache", "bypass-"));
    stack = await startStack([]);
  });
  after(async () => {
    await Promise.all(running.map((p) => p.stop(5_000)));
    await stack[Symbol.asyncDispose]();
    rmSync(scratch, { recursive: true, force: true });
  });

  /** A copy of hello in `<scratch>/<case>/hello`, its SDK imported by a relative path. */
  const plugin = (name: string) => {
    const dir = join(scratch, name, "hello");
    cpSync(dirname(pluginPath("hello")), dir, { recursive: true });
    const module = join(dir, "mod.ts");
    const sdk = relative(dir, join(ROOT, "src"));
    writeFileSync(module, readFileSync(module, "utf8").replaceAll(/from "(\.\.\/)+src\//g, `from "${sdk}/`));
    return { dir, module, sdk };
  };
  /** A spec that approves the plugin's digest as it is now. */
  const approved = (
    module: string,
    extra: Partial<PluginProcessSpec> = {},
  ): PluginProcessSpec & { auditPath: string; lines: string[] } => {
    const auditPath = join(dirname(dirname(module)), "audit.jsonl");
    const lines: string[] = [];
    return {
      label: "hello",
      runtime: currentRuntime(),
      cli: CLI,
      module,
      natsUrl: stack.nats.url,
      allowList: new AllowList(
        v.parse(AllowListSchema, { plugins: { hello: hashPluginCode(module).digest } }),
      ),
      audit: new AuditLog(auditPath),
      codeCache: join(scratch, "code-cache"),
      onLine: (_label, line) => lines.push(line),
      auditPath,
      lines,
      ...extra,
    };
  };
  const waitForInstance = (id: string) =>
    waitFor(
      () =>
        [...stack.router.registry.get("hello")?.versions.values() ?? []].some((ver) =>
          ver.instances.get(id)?.draining === false
        ),
      {
        timeoutMs: 20_000,
        message: `instance ${id} in the registry`,
      },
    );
  const refusedWith = (spec: PluginProcessSpec, pattern: RegExp) =>
    assert.throws(() => running.push(startPluginProcess(spec)), (err: unknown) => {
      assert.ok(err instanceof PluginRefusedError, String(err));
      assert.match(err.message, pattern);
      return true;
    });

  test("mod.ts swapped right after the check: the instance runs the approved bytes from a read-only verified copy, and the audit log has that copy's digest", async () => {
    const { module, sdk } = plugin("swap");
    const digest = hashPluginCode(module).digest;
    const approvedSource = readFileSync(module, "utf8");
    const spec = approved(module, { instanceId: "hello-swap" });
    const instance = startPluginProcess(spec);
    running.push(instance);
    // The instance process has not imported the plugin yet: today's code would now run this.
    writeFileSync(module, EVIL(sdk));
    await waitForInstance("hello-swap").catch((err) => {
      throw new Error(`${(err as Error).message}; its lines:\n${spec.lines.join("\n")}`);
    });
    const reply = await stack.post("hello/greet", { name: "approved" });
    assert.deepEqual(
      reply.body,
      { message: "Hello, approved" },
      "the approved code answers, not the swapped one",
    );
    const started = readAudit(spec.auditPath).find((l) => l.type === "plugin_started");
    assert.equal(started.digest, digest);
    assert.equal(started.module, module);
    // The copy keeps the layout below the folder all its files share (here the repository, for the SDK).
    const copy = join(started.codeDir, relative(ROOT, module));
    assert.equal(readFileSync(copy, "utf8"), approvedSource, "the copy holds the approved bytes");
    assert.equal(statSync(copy).mode & 0o222, 0, "copied files are read-only");
    assert.equal(statSync(started.codeDir).mode & 0o222, 0, "and so is the copy's folder");
    assert.equal(hashPluginCode(copy).digest, digest, "the copy hashes as approved");

    // The next start reads the swapped file: refused, and audited with the swapped digest.
    refusedWith(
      approved(module, { allowList: spec.allowList!, audit: spec.audit! }),
      /is not on the allow-list/,
    );
    const refused = readAudit(spec.auditPath).find((l) => l.type === "plugin_refused");
    assert.equal(refused.digest, hashPluginCode(module).digest);
    assert.notEqual(refused.digest, digest);
    await instance.stop(5_000);
  });

  test("a node_modules of the plugin's own (which shadows a dependency without changing the hash) is refused and audited", () => {
    const { dir, module } = plugin("shadow");
    const spec = approved(module);
    const before = hashPluginCode(module).digest;
    mkdirSync(join(dir, "node_modules", "valibot"), { recursive: true });
    writeFileSync(
      join(dir, "node_modules", "valibot", "package.json"),
      '{"name":"valibot","type":"module","main":"index.js"}',
    );
    writeFileSync(
      join(dir, "node_modules", "valibot", "index.js"),
      'throw new Error("shadowed valibot ran");\n',
    );
    assert.equal(
      hashPluginCode(module).digest,
      before,
      "the shadow does not change the hash: the allow-list alone cannot see it",
    );
    refusedWith(spec, /node_modules of its own \(node_modules\)/);
    const [line] = readAudit(spec.auditPath);
    assert.equal(line.type, "plugin_refused");
    assert.equal(line.digest, before);
    assert.match(line.reason, /node_modules of its own/);
  });

  test("an extension-less import (Bun resolves it, the hash cannot follow it) is refused and audited", () => {
    const { dir, module } = plugin("extensionless");
    writeFileSync(join(dir, "greeting.ts"), 'export const greeting = "Hello";\n');
    writeFileSync(module, `import "./greeting";\n${readFileSync(module, "utf8")}`);
    const spec = approved(module);
    const digest = hashPluginCode(module).digest;
    writeFileSync(join(dir, "greeting.ts"), 'export const greeting = "changed";\n');
    assert.equal(hashPluginCode(module).digest, digest, "the file it loads is outside the hash");
    refusedWith(spec, /mod\.ts:1 imports "\.\/greeting", which is no file: name the file with its extension/);
    assert.match(readAudit(spec.auditPath)[0].reason, /imports "\.\/greeting"/);
  });

  test("a computed import() is refused and audited", () => {
    const { dir, module } = plugin("computed");
    writeFileSync(join(dir, "greeting.ts"), 'export const greeting = "Hello";\n');
    writeFileSync(
      module,
      `const name = "./greeting.ts";\nawait import(name);\n${readFileSync(module, "utf8")}`,
    );
    const spec = approved(module);
    refusedWith(spec, /mod\.ts:2 loads code that no literal names \(import\(\)\)/);
    assert.equal(readAudit(spec.auditPath)[0].type, "plugin_refused");
  });

  test("an absolute import (it would leave the verified copy) is refused", () => {
    const { module } = plugin("absolute");
    writeFileSync(
      module,
      readFileSync(module, "utf8").replaceAll(/from "(\.\.\/)+src\//g, `from "${join(ROOT, "src")}/`),
    );
    refusedWith(approved(module), /imports "\/.*\/plugin\/mod\.ts" by an absolute path/);
  });

  test("the sandbox comes from the approved manifest in the copy, not from permissions read before the check", async () => {
    const { dir, module } = plugin("manifest");
    writeFileSync(join(dir, "plugin.json"), '{"permissions":{}}');
    // As if plugin.json had said "read everything" when the supervisor read it, and was swapped back before the check.
    const spec = approved(module, {
      runtime: "deno",
      permissions: { read: true, env: true },
      requires: {},
      instanceId: "hello-manifest",
    });
    const instance = startPluginProcess(spec);
    running.push(instance);
    await waitForInstance("hello-manifest").catch((err) => {
      throw new Error(`${(err as Error).message}; its lines:\n${spec.lines.join("\n")}`);
    });
    const started = readAudit(spec.auditPath).find((l) => l.type === "plugin_started");
    assert.ok(Array.isArray(started.sandbox), JSON.stringify(started));
    assert.ok(
      !started.sandbox.includes("--allow-read") && !started.sandbox.includes("--allow-env"),
      started.sandbox.join(" "),
    );
    const reads: string[] =
      started.sandbox.find((f: string) => f.startsWith("--allow-read="))?.slice("--allow-read=".length).split(
        ",",
      ) ?? [];
    assert.ok(
      reads.length > 0 && reads.every((p) => p.startsWith(`${started.codeDir}/`)),
      `reads only its verified copy: ${reads.join(", ")}`,
    );
    assert.deepEqual((await stack.post("hello/greet", { name: "sandboxed" })).body, {
      message: "Hello, sandboxed",
    });
    await instance.stop(5_000);
  });
});
