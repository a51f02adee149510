import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { connectBus } from "../../src/bus/mod.ts";
import { readConfigFile, resolveConfig } from "../../src/config/mod.ts";
import type { Config } from "../../src/config/mod.ts";
import { startRouter } from "../../src/cli/router_command.ts";
import type { StartedRouter } from "../../src/cli/router_command.ts";
import { currentRuntime, runtimeCommand } from "../../src/runtime/mod.ts";
import { requestPs, requestReload } from "../../src/supervisor/mod.ts";
import type { SupervisorSnapshot } from "../../src/supervisor/mod.ts";
import { captureLogger, spawnProcess, startNatsServer, waitFor } from "../../src/testing/mod.ts";
import type { CaptureLogger, NatsServer, ProcessHandle } from "../../src/testing/mod.ts";
import type { NatsConnection } from "@nats-io/nats-core";
import { CLI, fixturePath, pluginPath } from "./_stack.ts";
import { describeLoad, failuresOf, startLoad } from "./_load_client.ts";
import { reloadableSource } from "./_reloadable.ts";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

describe("switchyard up: the supervisor", () => {
  let nats: NatsServer;
  let dir: string;
  let configPath: string;
  let config: Config;
  let up: ProcessHandle;
  let router: StartedRouter;
  let routerLogs: CaptureLogger;
  let url: string;
  let nc: NatsConnection;
  const module = () => join(dir, "reloadable", "mod.ts");
  const writeConfig = (change: (c: Config) => void) => {
    change(config);
    writeFileSync(configPath, JSON.stringify(config, null, 2));
  };
  const live = (plugin: string) =>
    [...router.registry.get(plugin)?.versions.values() ?? []].flatMap((v) => [...v.instances.values()]).filter((i) => !i.draining);
  const ps = async (): Promise<SupervisorSnapshot["instances"]> => (await requestPs(nc, "sy")).flatMap((s) => s.instances);

  before(async () => {
    nats = await startNatsServer();
    mkdirSync(join(ROOT, ".cache"), { recursive: true });
    dir = mkdtempSync(join(ROOT, ".cache", "up-"));
    mkdirSync(join(dir, "reloadable"));
    writeFileSync(module(), reloadableSource("1.0.0"));
    configPath = join(dir, "switchyard.config.json");
    config = {
      supervisor: { restart: { baseDelayMs: 100, maxDelayMs: 1_000 }, crashLoop: { restarts: 3, windowMs: 30_000 }, drainTimeoutMs: 5_000 },
      plugins: {
        "sup-work": { module: fixturePath("sup-work"), replicas: 2, options: { delayMs: 20 }, timeoutMs: 3_000 },
        counter: { module: pluginPath("counter"), options: { step: 1 } },
        faulty: { module: fixturePath("faulty"), timeoutMs: 5_000 },
        reloadable: { module: "reloadable/mod.ts" },
      },
    };
    writeConfig(() => {});
    routerLogs = captureLogger();
    const fileConfig = resolveConfig(readConfigFile(configPath), {});
    const routerConfig = structuredClone(fileConfig);
    routerConfig.nats.servers = [nats.url];
    Object.assign(routerConfig.router, { host: "127.0.0.1", port: 0 });
    router = await startRouter(routerConfig, routerLogs, { configPath, fileConfig, env: {} });
    url = `http://127.0.0.1:${router.port}`;
    nc = await connectBus({ servers: [nats.url] });
    up = spawnProcess(runtimeCommand(currentRuntime(), CLI, ["up", "--config", configPath, "--nats", nats.url, "--log-format", "pretty"]), { name: "up", maxLines: 5_000 });
    await up.waitForLine("supervisor up", 60_000);
    await waitFor(() => live("sup-work").length === 2 && live("counter").length === 1 && live("reloadable").length === 1, { timeoutMs: 10_000 });
  });
  after(async () => {
    await up?.stop(20_000);
    await router?.stop();
    await nc?.close();
    await nats?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test("switchyard ps lists instances with pids, uptime and restarts; each instance's lines carry its id", async () => {
    await using cli = spawnProcess(runtimeCommand(currentRuntime(), CLI, ["ps", "--nats", nats.url]), { name: "ps" });
    assert.equal((await cli.exited).code, 0, cli.lines.join("\n"));
    console.log(cli.lines.join("\n"));
    const header = cli.lines[0]!;
    assert.match(header, /^SUPERVISOR\s+PLUGIN\s+INSTANCE\s+PID\s+RUNTIME\s+VERSION\s+STATE\s+UPTIME\s+RESTARTS$/);
    const rows = cli.lines.slice(1).filter((l) => l.trim() !== "");
    assert.equal(rows.filter((r) => / sup-work /.test(r)).length, 2);
    for (const row of rows.filter((r) => / sup-work /.test(r))) assert.match(row, / sup-work-\d-\w{6}\s+\d+\s+\w+\s+1\.0\.0\s+running\s+\d+s\s+0$/);
    for (const i of await ps()) {
      assert.ok(i.pid !== undefined && i.pid > 0);
      assert.ok(up.lines.some((l) => l.startsWith(`[${i.id}] `) && l.includes("plugin ready")), `a prefixed line of ${i.id}`);
    }
  });

  test("kill -9 one of two instances under load: ≤ 16 failures, all clean JSON 503/504, none started > 1 s after the kill; back within 2 s", async () => {
    const load = startLoad({ url: `${url}/v1/sup-work/work`, durationMs: 15_000 });
    await load.running;
    const victim = (await ps()).find((i) => i.plugin === "sup-work" && i.slot === 0)!;
    await waitFor(() => (live("sup-work").find((i) => i.id === victim.id)?.pending ?? 0) > 0, { intervalMs: 2 });
    const killedAt = Date.now();
    process.kill(victim.pid!, "SIGKILL");
    await waitFor(() => live("sup-work").length === 2 && !live("sup-work").some((i) => i.id === victim.id), { timeoutMs: 10_000, intervalMs: 10 });
    const backMs = Date.now() - killedAt;
    // The load goes on past the first second after the kill before it ends.
    await load.waitForMore(100, killedAt + 1_200);
    const records = await load.stop();
    const failures = failuresOf(records);
    const lastFailureStart = Math.max(0, ...failures.map((f) => f.start - killedAt));
    const slot0 = (await ps()).find((i) => i.plugin === "sup-work" && i.slot === 0)!;
    console.log(`kill -9 under load: ${describeLoad(records)}; last failed request started ${lastFailureStart} ms after the kill; the supervisor had it back in ${backMs} ms (restarts ${slot0.restarts})`);
    assert.ok(failures.length <= 16, describeLoad(records));
    for (const f of failures) {
      assert.ok((f.status === 503 || f.status === 504) && f.clean, `unclean failure ${JSON.stringify(f)}`);
      assert.ok(f.start <= killedAt + 1_000, `a failure started ${f.start - killedAt} ms after the kill`);
    }
    assert.ok(records.filter((r) => r.start > killedAt + 1_000).length > 0, "the load went on past the kill");
    // A 100 ms backoff and a process start: seconds on a loaded machine, never the 1 s cap times restarts.
    assert.ok(backMs <= 15_000, `back after ${backMs} ms`);
    assert.equal(slot0.restarts, 1);
    assert.notEqual(slot0.id, victim.id);
    assert.ok(up.lines.some((l) => l.includes("instance crashed: restarting") && l.includes(victim.id!)));
  });

  test("a broken v2 (throws in init) under load: v1 keeps serving with 0 failures, and switchyard reload prints the error", async () => {
    const load = startLoad({ url: `${url}/v1/reloadable/who`, durationMs: 8_000 });
    await load.running;
    writeFileSync(module(), reloadableSource("2.0.0", true));
    await using cli = spawnProcess(runtimeCommand(currentRuntime(), CLI, ["reload", "reloadable", "--nats", nats.url]), { name: "reload" });
    const status = await cli.exited;
    const records = await load.stop();
    console.log(`broken reload under load: ${describeLoad(records)}; reload said: ${cli.lines.join(" | ")}`);
    assert.equal(status.code, 1);
    assert.ok(cli.lines.some((l) => l.includes("failed, the running instances keep serving") && l.includes("v2.0.0 cannot start: DATABASE_URL is not set")), cli.lines.join("\n"));
    assert.deepEqual(failuresOf(records), []);
    assert.ok(records.every((r) => r.version === "1.0.0"));
    assert.ok(up.lines.some((l) => l.includes("reload failed: the running instances keep serving") && l.includes("DATABASE_URL")));

    // Fixed: the same command swaps it.
    writeFileSync(module(), reloadableSource("2.0.1"));
    await using fixed = spawnProcess(runtimeCommand(currentRuntime(), CLI, ["reload", "reloadable", "--nats", nats.url]), { name: "reload" });
    assert.equal((await fixed.exited).code, 0, fixed.lines.join("\n"));
    assert.ok(fixed.lines.some((l) => /reloadable reloaded \(version 2\.0\.1\)/.test(l)), fixed.lines.join("\n"));
    assert.equal((await (await fetch(`${url}/v1/reloadable/who`, { method: "POST" })).json()).version, "2.0.1");
    const nobody = await requestReload(nc, "sy", "nobody", { timeoutMs: 5_000 });
    assert.deepEqual(nobody, { accepted: [], finals: [], timedOut: false });
  });

  test("editing the counter's step under load changes the increments at once, with 0 failed requests", async () => {
    const load = startLoad({ url: `${url}/v1/counter/increment`, durationMs: 60_000, body: { value: 1 }, field: "added" });
    await load.running;
    const editedAt = Date.now();
    writeConfig((c) => c.plugins!.counter!.options = { step: 5 });
    // The supervisor logs it once every running instance has taken the new options.
    await up.waitForLine(/options applied.*counter/, 30_000);
    await load.waitForMore(100, Date.now(), 60_000);
    const records = await load.stop();
    const firstNew = records.find((r) => r.field === 5);
    const lastOld = records.filter((r) => r.field === 1).at(-1);
    const switchMs = firstNew === undefined ? Infinity : firstNew.end - editedAt;
    console.log(`counter step 1 → 5 under load: ${describeLoad(records)}; first increment of 5 answered ${switchMs} ms after the edit; last increment of 1 started ${lastOld === undefined ? "-" : lastOld.start - editedAt} ms after it`);
    assert.deepEqual(failuresOf(records), []);
    // A file watch and a message to the instance: no restart (seconds at most on a loaded machine).
    assert.ok(switchMs <= 5_000, `${switchMs} ms`);
    // Once one answer added 5, the instance had the new step: every request after it adds 5.
    const late = records.filter((r) => r.start > firstNew!.end);
    assert.ok(late.length > 0 && late.every((r) => r.field === 5), `every request after the first 5 adds 5 (${late.length} of them)`);
    assert.ok(records.some((r) => r.field === 1), "the load began on step 1");
  });

  test("editing a plugin's timeout in the file changes the router's behaviour at once; a malformed edit keeps the old config and logs the path", async () => {
    const post = (method: string, body: unknown) =>
      fetch(`${url}/v1/faulty/${method}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) }).then(async (res) => {
        await res.arrayBuffer();
        return res.status;
      });
    // 2.5 s of work: inside the 5 s timeout, past the 1 s one, with room for a slow machine both ways.
    const slow = () => post("sleep", { ms: 2_500 });
    const reloads = () => routerLogs.entries.filter((e) => e.msg === "config reloaded" && (e.attrs.changed as string[]).includes("plugins.faulty.timeoutMs"));
    assert.equal(await slow(), 200);
    const editedAt = Date.now();
    writeConfig((c) => c.plugins!.faulty!.timeoutMs = 1_000);
    await waitFor(() => reloads().length === 1, { timeoutMs: 10_000, message: "the router to apply the edit" });
    const appliedMs = Date.now() - editedAt;
    const audit = reloads()[0]!;
    console.log(`timeout 5000 → 1000 ms applied ${appliedMs} ms after the edit; audit line: ${JSON.stringify(audit.attrs)}`);
    // "At once" is a file watch and a parse: well under the seconds a restart would take, even on a busy machine.
    assert.ok(appliedMs < 5_000, `${appliedMs} ms`);
    assert.ok(/^[0-9a-f]{64}$/.test(audit.attrs.sha256 as string));
    assert.deepEqual(audit.attrs.applied, ["plugins.faulty.timeoutMs"]);
    assert.equal(await slow(), 504, "the 1 s timeout");

    writeFileSync(configPath, JSON.stringify({ ...config, plugins: { ...config.plugins, faulty: { ...config.plugins!.faulty, timeoutMs: "fast" } } }));
    await waitFor(() => routerLogs.entries.some((e) => e.msg.startsWith("config rejected")), { timeoutMs: 10_000 });
    const rejected = routerLogs.entries.find((e) => e.msg.startsWith("config rejected"))!;
    assert.ok((rejected.attrs.problems as string[]).some((p) => p.startsWith("plugins.faulty.timeoutMs: ")), JSON.stringify(rejected.attrs));
    await up.waitForLine(/config rejected.*plugins\.faulty\.timeoutMs/, 10_000);
    assert.equal(await slow(), 504, "still the 1 s timeout");
    assert.equal(await post("calls", {}), 200);
    writeConfig((c) => c.plugins!.faulty!.timeoutMs = 5_000);
    await waitFor(() => reloads().length === 2, { timeoutMs: 10_000, message: "the router to apply the fix" });
    assert.equal(await slow(), 200);
  });

  test("a plugin added to the file that crashes at start is reported as a crash loop; removed again, it stops", async () => {
    writeConfig((c) => c.plugins!.crashy = { module: fixturePath("crashy") });
    await up.waitForLine(/crash loop: the plugin keeps crashing.*crashy cannot start: the database is unreachable/, 20_000);
    const crashy = (await ps()).find((i) => i.plugin === "crashy")!;
    console.log(`crashy: ${JSON.stringify(crashy)}`);
    assert.equal(crashy.crashLoop, true);
    assert.ok(crashy.restarts >= 2, `${crashy.restarts} restarts`);
    writeConfig((c) => delete c.plugins!.crashy);
    await waitFor(async () => !(await ps()).some((i) => i.plugin === "crashy"), { timeoutMs: 5_000 });
  });

  test("replicas in the file scale the plugin without touching the others; SIGTERM drains everything and exits 0", async () => {
    const before = (await ps()).filter((i) => i.plugin === "sup-work").map((i) => i.id);
    writeConfig((c) => c.plugins!["sup-work"]!.replicas = 3);
    await waitFor(() => live("sup-work").length === 3, { timeoutMs: 10_000 });
    assert.deepEqual((await ps()).filter((i) => i.plugin === "sup-work").map((i) => i.id).slice(0, 2), before);
    const pids = (await ps()).map((i) => i.pid!).filter((p) => p > 0);
    up.kill("SIGTERM");
    const status = await up.exited;
    assert.equal(status.code, 0, up.lines.slice(-20).join("\n"));
    assert.ok(up.lines.some((l) => l.includes("supervisor stopped")));
    for (const pid of pids) assert.throws(() => process.kill(pid, 0), `pid ${pid} is gone`);
    await waitFor(() => live("sup-work").length === 0 && live("counter").length === 0, { timeoutMs: 5_000 });
  });
});
